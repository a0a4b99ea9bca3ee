//! Integration tests of akiles-oauth against the emulator's OAuth server.

mod flow;
mod harness;
