//! Integration tests of the service: a real server on port 0, a fresh SQLite store, and
//! the Akiles emulator on its own port.

mod cases;
mod deliveries;
mod guard;
mod helpers;
mod isolation;
mod jobs;
mod push;
mod reconcile;
mod signature;
