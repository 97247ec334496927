//! The server the tests share.

use std::sync::OnceLock;

use crate::{server, Server, TEST_HEALTH_TOKEN, TEST_JWT_SECRET};

static SHARED: OnceLock<Server> = OnceLock::new();

/// The server every test shares (fresh state, free port, migrated), started on first use.
pub fn shared_server() -> &'static Server {
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

/// Stops the shared server if it was started (statics are never dropped).
pub fn stop_shared_server() {
    if let Some(server) = SHARED.get() {
        server.stop_ref();
    }
}
