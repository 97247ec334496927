//! SafeMarket's HTTP wire shapes: the JSON request and response bodies of `/api/v1` that both
//! the Worker and the staff app (`app/`) use, so the app cannot drift from the API. Serde only:
//! no runtime types, no parsing rules (the Worker's domain types parse these once), builds for
//! `wasm32-unknown-unknown` and natively.

pub mod api_keys;
pub mod auth;
pub mod bookings;
pub mod live;
pub mod members;
pub mod occupancy;
pub mod page;
pub mod problem;
pub mod schedule;
pub mod stores;
pub mod webhooks;

pub use problem::{FieldError, Problem};
