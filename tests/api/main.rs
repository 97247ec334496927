//! Black-box API tests against the real `wrangler dev` (workerd with D1, KV, Durable Objects).
//!
//! One shared server (fresh state, free port) serves every test; tests create their own users
//! and stores so they run in parallel. Tests that restart a server start their own.
//!
//! A test is a `fn()` marked `#[blackbox]` (`use safemarket_blackbox::blackbox;`) in a module
//! below; it registers itself as `api::<module>::<function>`, and the runner runs every
//! registered test, by name, those marked `#[blackbox(last)]` after all the others. Nothing can
//! be left out: a test function without the attribute is dead code, which fails the build (the
//! `deny` below), and a file under `tests/api/` without its `mod` line here fails the run (the
//! check at the start of `main`).

// An unregistered test is an unused function: refuse to build rather than skip it silently.
#![deny(dead_code)]

mod accounts;
mod book_page;
mod bookings;
mod contract;
mod cost_meter;
mod edge;
mod history;
mod hostile;
mod integrations;
mod legacy;
mod listings;
mod live;
mod notifications;
mod platform;
mod rate_limits;
mod staff_app;
mod staff_app_pwa;
mod stores;
mod waitlist;

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use safemarket_blackbox::{registry, shared_server, Api, Server};

/// The shared server, started on first use.
pub fn shared() -> &'static Server {
    shared_server()
}

/// A client for the shared server.
pub fn api() -> Api {
    Api::new(&shared().base)
}

fn trial(name: &'static str, f: fn()) -> Trial {
    Trial::test(name, move || {
        std::panic::catch_unwind(f).map_err(|e| {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "test panicked".into());
            Failed::from(msg)
        })
    })
}

fn main() {
    let tests = registry::all();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("api");
    let undeclared = registry::undeclared_modules(&dir, module_path!(), &tests);
    if !undeclared.is_empty() {
        eprintln!(
            "error: no registered test comes from {undeclared:?} in {}: declare each with a \
             `mod` line in tests/api/main.rs and mark its tests #[blackbox] (helpers belong \
             in tests/src)",
            dir.display()
        );
        std::process::exit(101);
    }
    let mut args = Arguments::from_args();
    // One test at a time by default: several tests already run hundreds of concurrent requests
    // each, and local workerd is shared by everything (`--test-threads N` overrides).
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let trials = tests.iter().map(|t| trial(t.name, t.run)).collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // Statics are never dropped: stop the shared server explicitly before exiting.
    safemarket_blackbox::app::stop_shared_server();
    stores::stop_servers();
    conclusion.exit();
}
