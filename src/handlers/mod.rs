//! One module per resource; each handler parses, calls the domain, and responds.

pub mod accounts;
pub mod api_keys;
pub mod bookings;
pub mod calendar;
pub mod docs;
pub mod export;
pub mod external;
pub mod health;
pub mod legacy;
pub mod live;
pub mod me;
pub mod members;
pub mod schedule;
pub mod store_profile;
pub mod store_search;
pub mod stores;
pub mod waitlist;
pub mod webhooks;
