//! Dates and times in the store's zone and the user's locale, through the browser's `Intl`
//! (no time-zone database in the app).

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

fn options(pairs: &[(&str, &str)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o.into()
}

/// `HH:MM` of the instant `rfc3339` in `zone`, on the 24-hour clock in every language (store
/// hours are written that way on the door; `h23`, not `hour12: false`, which may say `24:00`
/// at midnight), with the locale's separator.
pub fn local_time(rfc3339: &str, zone: &str, locale: &str) -> String {
    let d = Date::new(&JsValue::from_str(rfc3339));
    d.to_locale_time_string_with_options(
        locale,
        &options(&[
            ("timeZone", zone),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
            ("hourCycle", "h23"),
        ]),
    )
    .into()
}

/// The date and `HH:MM` (24-hour, as [`local_time`]) of the instant `rfc3339` in `zone`, as
/// the locale writes them.
pub fn local_date_time(rfc3339: &str, zone: &str, locale: &str) -> String {
    Date::new(&JsValue::from_str(rfc3339))
        .to_locale_string(
            locale,
            &options(&[
                ("timeZone", zone),
                ("year", "numeric"),
                ("month", "2-digit"),
                ("day", "2-digit"),
                ("hour", "2-digit"),
                ("minute", "2-digit"),
                ("hourCycle", "h23"),
            ]),
        )
        .into()
}

/// `HH:MM` (24-hour, with a colon, whatever the locale) of the instant `rfc3339` in `zone`:
/// the booking page's slot names begin with it in every language.
pub fn clock(rfc3339: &str, zone: &str) -> String {
    local_time(rfc3339, zone, "en-GB")
}

/// The day of the instant `rfc3339` in `zone` as the locale writes it short ("Tue, 1 Dec").
pub fn short_day(rfc3339: &str, zone: &str, locale: &str) -> String {
    let d = Date::new(&JsValue::from_str(rfc3339));
    d.to_locale_date_string(
        locale,
        &options(&[
            ("timeZone", zone),
            ("weekday", "short"),
            ("day", "numeric"),
            ("month", "short"),
        ]),
    )
    .into()
}

/// Milliseconds from now until the instant `rfc3339` (negative once it has passed).
pub fn millis_until(rfc3339: &str) -> f64 {
    Date::parse(rfc3339) - Date::now()
}

/// Now, in UTC, as `YYYY-MM-DDTHH:MM:SS.sssZ` (compares as text with the API's instants).
pub fn now_utc() -> String {
    Date::new_0().to_iso_string().into()
}

/// Today's date `YYYY-MM-DD` in `zone`.
pub fn today_in(zone: &str) -> String {
    // en-CA writes ISO dates.
    Date::new_0()
        .to_locale_date_string("en-CA", &options(&[("timeZone", zone)]))
        .into()
}

/// The browser's IANA zone.
pub fn browser_zone() -> String {
    let f = js_sys::Intl::DateTimeFormat::new(&Array::new(), &Object::new());
    Reflect::get(&f.resolved_options(), &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "UTC".into())
}

/// The IANA zones the browser knows (`Intl.supportedValuesOf`), with `current` among them.
pub fn zones(current: &str) -> Vec<String> {
    let intl: JsValue = js_sys::global()
        .dyn_into::<Object>()
        .ok()
        .and_then(|g| Reflect::get(&g, &JsValue::from_str("Intl")).ok())
        .unwrap_or(JsValue::UNDEFINED);
    let mut list: Vec<String> = Reflect::get(&intl, &JsValue::from_str("supportedValuesOf"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call1(&intl, &JsValue::from_str("timeZone")).ok())
        .map(|v| {
            Array::from(&v)
                .iter()
                .filter_map(|z| z.as_string())
                .collect()
        })
        .unwrap_or_default();
    if !list.iter().any(|z| z == current) {
        list.push(current.to_string());
        list.sort();
    }
    list
}
