//! SafeMarket's HTTP wire shapes: the JSON request and response bodies of `/api/v1` that both
//! the Worker and the browser apps (`app/`, `book/`) use, so the apps cannot drift from the
//! API, and the writer of its `text/calendar` bodies ([`ics`]). Serde only: no runtime types,
//! no parsing rules (the Worker's domain types parse these once), builds for
//! `wasm32-unknown-unknown` and natively.

pub mod api_keys;
pub mod auth;
pub mod bookings;
pub mod ics;
pub mod live;
pub mod members;
pub mod occupancy;
pub mod page;
pub mod problem;
pub mod schedule;
pub mod stores;
pub mod waitlist;
pub mod webhooks;

pub use problem::{FieldError, Problem};
