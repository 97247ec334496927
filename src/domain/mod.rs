//! Input types that can only hold valid values (parse, don't validate), shared by handlers.

pub mod booking;
pub mod fields;
pub mod integration;
pub mod legacy;
pub mod search;
pub mod store;
pub mod time_range;
pub mod user;
