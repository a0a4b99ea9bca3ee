//! Integration tests of akiles-oauth against the emulator's OAuth server and a temp-file
//! SQLite store.

mod connect;
mod flow;
mod harness;
mod tokens;
