//! The delivery suite: syncs against the Akiles emulator and sends to a real SMTP server
//! (aiosmtpd, started by each test; see [`smtp`]).

mod harness;
mod logs;
mod send;
mod smtp;
