//! SafeMarket's per-store inventory.
//!
//! - [`engine`] is the pure slot/booking engine: schedules, slot expansion in the store's time
//!   zone, booking decisions, codes and idempotency. It has no `worker` types and is tested
//!   natively.
//! - [`protocol`] is the typed request/response protocol between the Worker and the object.
//! - [`object`] is the Durable Object itself: thin glue that runs engine decisions inside the
//!   object's own SQLite database.
//! - [`limiter`] is the per-api-key rate limiter, a second, tiny Durable Object class.

pub mod engine;
pub mod limiter;
pub mod object;
pub mod protocol;

pub use limiter::KeyRateLimiter;
pub use object::StoreObject;
