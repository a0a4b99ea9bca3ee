//! Integration tests of the Akiles client against the in-process emulator (and, for
//! protocol edges the emulator cannot produce, a tiny canned HTTP server).

mod canned;
mod credentials;
mod errors;
mod faults;
mod groups;
mod lists;
mod logs;
mod members;
mod metrics;
mod support;
