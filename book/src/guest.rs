//! The shopper's identity on this browser: a random device id kept in `localStorage` (the same
//! device id is the same guest user, so "My bookings" survives a closed tab) traded for a guest
//! session (`POST /auth/guest`). The session itself is kept as the staff app keeps its own:
//! the access token in memory, the refresh token in `sessionStorage`.

use safemarket_api::auth::{GuestRequest, TokenPair};
use safemarket_web::http::{self, Failure};
use safemarket_web::i18n::Lang;

const DEVICE_KEY: &str = "safemarket.book.device";

/// 16 random bytes from the browser's CSPRNG, in hex: the device id is as good as a password
/// to this guest's bookings, so it must not be guessable.
fn new_device_id() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// This browser's device id, made on first use.
fn device_id() -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok().flatten()?;
    if let Some(id) = storage.get_item(DEVICE_KEY).ok().flatten() {
        if !id.is_empty() {
            return Some(id);
        }
    }
    let id = new_device_id()?;
    storage.set_item(DEVICE_KEY, &id).ok()?;
    Some(id)
}

/// A session for this browser's guest: the kept one when it can be refreshed, else a new one.
pub async fn sign_in(lang: Lang) -> Result<(), Failure> {
    if http::has_session() && http::refresh().await {
        return Ok(());
    }
    let Some(device_id) = device_id() else {
        return Err(Failure {
            status: 0,
            problem: None,
            message: safemarket_web::i18n::tr(lang, "no_storage").to_string(),
        });
    };
    let body = GuestRequest { device_id };
    let pair: TokenPair = http::call(lang, "POST", "/api/v1/auth/guest", Some(&body)).await?;
    http::keep(&pair);
    Ok(())
}
