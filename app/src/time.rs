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

/// `HH:MM` of the instant `rfc3339` in `zone`, as the locale writes it.
pub fn local_time(rfc3339: &str, zone: &str, locale: &str) -> String {
    let d = Date::new(&JsValue::from_str(rfc3339));
    d.to_locale_time_string_with_options(
        locale,
        &options(&[
            ("timeZone", zone),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
        ]),
    )
    .into()
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
