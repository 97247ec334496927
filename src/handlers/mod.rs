//! One module per resource; each handler parses, calls the domain, and responds.

pub mod accounts;
pub mod health;
pub mod me;
