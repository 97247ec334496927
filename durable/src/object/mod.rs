//! The per-store Durable Object: decodes a [`StoreCommand`], runs it against the object's own
//! SQLite database and encodes the [`StoreResult`].
//!
//! Correctness rests on one rule (see DESIGN.md): a decision and the writes it implies run with
//! no `await` between them, so no other request of this store can interleave.

mod schema;

use std::cell::Cell;

use serde::Deserialize;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use crate::protocol::{StoreCommand, StoreError, StoreErrorKind, StoreReply, StoreResult};

/// One instance per store, addressed by the store id (`id_from_name(store_id)`).
#[durable_object]
pub struct StoreObject {
    sql: SqlStorage,
    schema_ready: Cell<bool>,
}

impl DurableObject for StoreObject {
    fn new(state: State, _env: Env) -> Self {
        Self {
            sql: state.storage().sql(),
            schema_ready: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let result: StoreResult = match req.json::<StoreCommand>().await {
            Ok(cmd) => self.execute(cmd),
            Err(e) => Err(StoreError::new(
                StoreErrorKind::BadCommand,
                format!("cannot decode command: {e}"),
            )),
        };
        Response::from_json(&result)
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Internal, e.to_string())
}

impl StoreObject {
    /// Runs one command synchronously: no `await` from first read to last write.
    fn execute(&self, cmd: StoreCommand) -> StoreResult {
        self.ensure_schema()?;
        match cmd {
            StoreCommand::Ping { nonce } => self.ping(nonce),
            StoreCommand::CloseStore => self.close_store(),
        }
    }

    fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.schema_ready.get() {
            return Ok(());
        }
        self.sql
            .exec(schema::MIGRATIONS[0], None)
            .map_err(internal)?;
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT value FROM meta WHERE key = 'schema_version'", None)
            .and_then(|c| c.to_array())
            .map_err(internal)?;
        let current = rows
            .first()
            .and_then(|r| r.value.parse::<usize>().ok())
            .unwrap_or(0);
        for (version, statement) in schema::pending(current) {
            self.sql.exec(statement, None).map_err(internal)?;
            self.sql
                .exec(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    vec![version.to_string().into()],
                )
                .map_err(internal)?;
        }
        self.schema_ready.set(true);
        Ok(())
    }

    fn close_store(&self) -> StoreResult {
        self.sql
            .exec(
                "INSERT INTO meta(key, value) VALUES ('closed', '1')
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                None,
            )
            .map_err(internal)?;
        Ok(StoreReply::Closed { cancelled: 0 })
    }

    fn ping(&self, nonce: String) -> StoreResult {
        self.sql
            .exec(
                "INSERT INTO meta(key, value) VALUES ('last_ping', ?)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                vec![nonce.into()],
            )
            .map_err(internal)?;
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        let row: Row = self
            .sql
            .exec("SELECT value FROM meta WHERE key = 'last_ping'", None)
            .and_then(|c| c.one())
            .map_err(internal)?;
        Ok(StoreReply::Pong { nonce: row.value })
    }
}
