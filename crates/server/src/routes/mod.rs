//! The HTTP routes, one module per area.

pub mod health;
pub mod manage;
pub mod openapi;
pub mod push;
