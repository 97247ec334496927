//! The screens of shared/UI.md and what they share.

pub mod collection;
pub mod door;
pub mod keys;
pub mod poster;
pub mod schedule;
pub mod signin;
pub mod staff;
pub mod store;
pub mod stores;
pub mod today;
pub mod webhooks;

pub use safemarket_web::problems::{field_note, Problems};
