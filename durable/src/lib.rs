//! SafeMarket's Durable Objects: the per-store inventory object ([`object`], thin glue that
//! runs `safemarket_engine` decisions inside the object's own SQLite database) and the
//! per-api-key rate limiter ([`limiter`]). The engine and the protocol live in the
//! `safemarket-engine` crate, which has no runtime dependency.

pub mod limiter;
pub mod meter;
pub mod object;
pub mod public_window;
pub mod r2;
pub mod user_bookings;

pub use limiter::KeyRateLimiter;
pub use object::StoreObject;
