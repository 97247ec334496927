//! Black-box test support: runs the real `wrangler dev` (workerd with embedded D1, KV and
//! Durable Objects) on a free port with throw-away state, and a small HTTP client for it.

pub mod client;
pub mod server;

pub use client::{Api, Resp};
pub use server::Server;
