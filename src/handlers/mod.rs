//! One module per resource; each handler parses, calls the domain, and responds.

pub mod health;
