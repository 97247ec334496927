//! Black-box API tests against the real `wrangler dev` (workerd with D1, KV, Durable Objects).
//!
//! One shared server (fresh state, free port) serves every test; tests create their own users
//! and stores so they run in parallel. Tests that restart a server start their own.

mod accounts;
mod bookings;
mod contract;
mod edge;
mod hostile;
mod integrations;
mod legacy;
mod live;
mod platform;
mod stores;

use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use safemarket_blackbox::{server, Api, Server, TEST_HEALTH_TOKEN, TEST_JWT_SECRET};

static SHARED: OnceLock<Server> = OnceLock::new();

/// The shared server, started on first use.
pub fn shared() -> &'static Server {
    SHARED.get_or_init(|| {
        let state = server::fresh_state_dir();
        server::apply_migrations(&state);
        Server::start(
            &state,
            &[
                ("JWT_SECRET", TEST_JWT_SECRET),
                ("HEALTH_TOKEN", TEST_HEALTH_TOKEN),
            ],
        )
    })
}

/// A client for the shared server.
pub fn api() -> Api {
    Api::new(&shared().base)
}

/// A test body: panics are failures.
pub type TestFn = fn();

/// The test table of a module: each function named `<module path>::<function>`.
#[macro_export]
macro_rules! tests {
    ($($f:ident),* $(,)?) => {
        &[$((concat!(module_path!(), "::", stringify!($f)), $f as $crate::TestFn)),*]
    };
}

fn trial(name: &'static str, f: TestFn) -> Trial {
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
    let mut args = Arguments::from_args();
    // One test at a time by default: several tests already run hundreds of concurrent requests
    // each, and local workerd is shared by everything (`--test-threads N` overrides).
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let mut trials = Vec::new();
    for (name, f) in platform::TESTS
        .iter()
        .chain(edge::TESTS)
        .chain(accounts::TESTS)
        .chain(bookings::TESTS)
        .chain(integrations::TESTS)
        .chain(hostile::TESTS)
        .chain(legacy::TESTS)
        .chain(stores::TESTS)
        .chain(live::TESTS)
        // Last: the fuzzer fills the shared server with users, stores and bookings.
        .chain(contract::TESTS)
    {
        trials.push(trial(name, *f));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Statics are never dropped: stop the shared server explicitly before exiting.
    if let Some(server) = SHARED.get() {
        server.stop_ref();
    }
    stores::stop_servers();
    conclusion.exit();
}
