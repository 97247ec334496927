//! Store zones in the Worker, which compiles in no zone database: zone names are checked
//! against the list the engine has (`safemarket_engine::zone::canonical_name`), and a zone's
//! table is read once per isolate from the static assets (`/tz/<name>.tz`, written by
//! `make site`), then kept. UTC and the legacy app's `Europe/Berlin` need no asset.

use safemarket_engine::zone::{canonical_name, Tz};
use worker::Env;

use crate::context::bindings;
use crate::error::ApiError;

/// The zone named `name` (a name D1 has for a store: validated when written, so an unknown
/// one is corrupted data, a 500).
pub async fn zone(env: &Env, name: &str) -> Result<Tz, ApiError> {
    if let Some(known) = Tz::known(name) {
        return Ok(known);
    }
    // Only a known name goes into the asset path.
    let name = canonical_name(name)
        .ok_or_else(|| ApiError::internal(format!("stored zone {name:?} is no IANA zone")))?;
    let assets = env.assets(bindings::ASSETS)?;
    let mut resp = assets
        .fetch(format!("https://assets.invalid/tz/{name}.tz"), None)
        .await?;
    if resp.status_code() != 200 {
        return Err(ApiError::internal(format!(
            "zone table of {name}: asset answered {}",
            resp.status_code()
        )));
    }
    let table = resp.text().await?;
    Tz::from_table(&table).map_err(|e| ApiError::internal(format!("zone table of {name}: {e}")))
}

/// The table of the zone named `name`, for a store object (`StoreRequest::timezone`).
pub async fn table(env: &Env, name: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(match name {
        Some(name) => Some(zone(env, name).await?.table()),
        None => None,
    })
}
