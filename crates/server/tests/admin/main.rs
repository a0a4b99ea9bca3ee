//! Tests of the admin pages and the "Connect Akiles" flow: a real server on port 0 with
//! its OAuth client registered in the emulator, a fresh SQLite store, and a scripted
//! browser (reqwest, cookies kept by hand, redirects followed by hand).

mod connect;
mod delivery;
mod guard;
mod harness;
mod pages;
mod secrets;
