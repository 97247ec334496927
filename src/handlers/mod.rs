//! One module per resource; each handler parses, calls the domain, and responds.

pub mod accounts;
pub mod bookings;
pub mod health;
pub mod legacy;
pub mod me;
pub mod members;
pub mod schedule;
pub mod store_profile;
pub mod store_search;
pub mod stores;
