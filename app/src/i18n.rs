//! The UI strings: one catalogue per language, chosen by `?lang=`, the remembered choice or the
//! browser's language. English names are the accessible names of shared/UI.md.

use leptos::prelude::*;

/// A language the app is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
}

impl Lang {
    /// The BCP 47 tag (`<html lang>`, `Intl`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language a tag starts with, if the app has it.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }
}

const KEY: &str = "safemarket.staff.lang";

/// The language at start: `?lang=` (then remembered), the remembered one, the browser's.
pub fn initial() -> Lang {
    let window = web_sys::window();
    let query = window
        .as_ref()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let forced = query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.strip_prefix("lang="))
        .find_map(Lang::parse);
    let storage = window
        .as_ref()
        .and_then(|w| w.local_storage().ok().flatten());
    if let Some(lang) = forced {
        remember(lang);
        return lang;
    }
    let stored = storage
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|t| Lang::parse(&t));
    stored
        .or_else(|| {
            window
                .and_then(|w| w.navigator().language())
                .and_then(|t| Lang::parse(&t))
        })
        .unwrap_or(Lang::En)
}

/// Remembers the choice and names it in `<html lang>`.
pub fn remember(lang: Lang) {
    if let Some(w) = web_sys::window() {
        if let Ok(Some(s)) = w.local_storage() {
            let _ = s.set_item(KEY, lang.tag());
        }
        if let Some(html) = w.document().and_then(|d| d.document_element()) {
            let _ = html.set_attribute("lang", lang.tag());
        }
    }
}

thread_local! {
    static SHOWN: std::cell::OnceCell<RwSignal<Lang>> = const { std::cell::OnceCell::new() };
}

/// Makes `signal` the language shown (once, at start).
pub fn install(signal: RwSignal<Lang>) {
    SHOWN.with(|s| {
        let _ = s.set(signal);
    });
}

/// The language shown. A global rather than a context: event handlers and spawned tasks run
/// outside the reactive owner that contexts hang on.
pub fn lang() -> RwSignal<Lang> {
    SHOWN.with(|s| *s.get_or_init(|| RwSignal::new(Lang::En)))
}

/// The string `key` in the current language (reactive when called in a closure).
pub fn t(key: &'static str) -> &'static str {
    tr(lang().get(), key)
}

/// The string `key` in `lang`; the key itself when a catalogue lacks it (a test catches that).
pub fn tr(lang: Lang, key: &'static str) -> &'static str {
    let found = match lang {
        Lang::En => en(key),
        Lang::De => de(key),
    };
    found.unwrap_or(key)
}

fn en(key: &str) -> Option<&'static str> {
    Some(match key {
        "app" => "SafeMarket Staff",
        "language" => "Language",
        "offline" => "You are offline. Changes need a connection.",
        "loading" => "Loading…",
        "email" => "Email",
        "password" => "Password",
        "name" => "Name",
        "sign_in" => "Sign in",
        "create_account" => "Create account",
        "have_account" => "I have an account",
        "sign_out" => "Sign out",
        "your_stores" => "Your stores",
        "no_stores" => "You are not a member of any store yet.",
        "new_store" => "New store",
        "owner" => "Owner",
        "staff_role" => "Staff",
        "category" => "Category",
        "address" => "Address",
        "latitude" => "Latitude",
        "longitude" => "Longitude",
        "time_zone" => "Time zone",
        "create_store" => "Create store",
        "supermarket" => "Supermarket",
        "bakery" => "Bakery",
        "pharmacy" => "Pharmacy",
        "other" => "Other",
        "stores" => "All stores",
        "today" => "Today",
        "door" => "Door",
        "schedule" => "Schedule",
        "staff" => "Staff",
        "api_keys" => "API keys",
        "webhooks" => "Webhooks",
        "store_nav" => "Store",
        "booking_code" => "Booking code",
        "check_in" => "Check in",
        "checked_in" => "Checked in",
        "people" => "People",
        "slot" => "Slot",
        "scan_qr" => "Scan QR code",
        "stop_scan" => "Stop scanning",
        "unknown_code" => "Unknown code",
        "already_checked_in" => "Already checked in",
        "not_in_slot" => "Not in its slot",
        "not_checkable" => "Cannot be checked in",
        "occupancy" => "Occupancy",
        "booked" => "booked",
        "of_capacity" => "of",
        "closed_now" => "Closed now",
        "green" => "Green",
        "yellow" => "Yellow",
        "red" => "Red",
        "date" => "Date",
        "time" => "Time",
        "code" => "Code",
        "party_size" => "Party size",
        "guest" => "Name",
        "status" => "Status",
        "actions" => "Actions",
        "no_show" => "No-show",
        "no_bookings" => "No bookings on this day.",
        "confirmed" => "Confirmed",
        "cancelled" => "Cancelled",
        "no_show_status" => "No-show",
        "slot_minutes" => "Slot length (minutes)",
        "capacity" => "Capacity",
        "horizon_days" => "Booking horizon (days)",
        "per_person" => "Bookings per person",
        "open" => "Open",
        "close" => "Close",
        "add_interval" => "Add opening hours",
        "remove" => "Remove",
        "exceptions" => "Exceptions",
        "closed_all_day" => "Closed all day",
        "add_exception" => "Add exception",
        "save_schedule" => "Save schedule",
        "saved" => "Saved.",
        "affected" => "Bookings the new schedule no longer covers (they stay valid)",
        "none_affected" => "No existing booking is outside the new schedule.",
        "mon" => "Monday",
        "tue" => "Tuesday",
        "wed" => "Wednesday",
        "thu" => "Thursday",
        "fri" => "Friday",
        "sat" => "Saturday",
        "sun" => "Sunday",
        "members" => "Members",
        "add_staff" => "Add staff",
        "role" => "Role",
        "prefix" => "Prefix",
        "scopes" => "Scopes",
        "created" => "Created",
        "create_key" => "Create key",
        "new_key" => "New key (shown only once)",
        "copy" => "Copy",
        "copied" => "Copied.",
        "revoke" => "Revoke",
        "revoked" => "Revoked",
        "url" => "URL",
        "events" => "Events",
        "add_webhook" => "Add webhook",
        "secret" => "Signing secret (shown only once)",
        "deliveries" => "Recent deliveries",
        "show_deliveries" => "Show deliveries",
        "no_deliveries" => "No deliveries yet.",
        "attempt" => "Attempt",
        "result" => "Result",
        "request_failed" => "The request failed",
        "network_failed" => "The server could not be reached.",
        _ => return None,
    })
}

fn de(key: &str) -> Option<&'static str> {
    Some(match key {
        "app" => "SafeMarket Personal",
        "language" => "Sprache",
        "offline" => "Sie sind offline. Änderungen brauchen eine Verbindung.",
        "loading" => "Wird geladen…",
        "email" => "E-Mail",
        "password" => "Passwort",
        "name" => "Name",
        "sign_in" => "Anmelden",
        "create_account" => "Konto erstellen",
        "have_account" => "Ich habe ein Konto",
        "sign_out" => "Abmelden",
        "your_stores" => "Ihre Geschäfte",
        "no_stores" => "Sie gehören noch zu keinem Geschäft.",
        "new_store" => "Neues Geschäft",
        "owner" => "Inhaber",
        "staff_role" => "Personal",
        "category" => "Kategorie",
        "address" => "Adresse",
        "latitude" => "Breitengrad",
        "longitude" => "Längengrad",
        "time_zone" => "Zeitzone",
        "create_store" => "Geschäft anlegen",
        "supermarket" => "Supermarkt",
        "bakery" => "Bäckerei",
        "pharmacy" => "Apotheke",
        "other" => "Sonstiges",
        "stores" => "Alle Geschäfte",
        "today" => "Heute",
        "door" => "Eingang",
        "schedule" => "Öffnungszeiten",
        "staff" => "Personal",
        "api_keys" => "API-Schlüssel",
        "webhooks" => "Webhooks",
        "store_nav" => "Geschäft",
        "booking_code" => "Buchungscode",
        "check_in" => "Einchecken",
        "checked_in" => "Eingecheckt",
        "people" => "Personen",
        "slot" => "Zeitfenster",
        "scan_qr" => "QR-Code scannen",
        "stop_scan" => "Scannen beenden",
        "unknown_code" => "Unbekannter Code",
        "already_checked_in" => "Bereits eingecheckt",
        "not_in_slot" => "Nicht in seinem Zeitfenster",
        "not_checkable" => "Kann nicht eingecheckt werden",
        "occupancy" => "Auslastung",
        "booked" => "gebucht",
        "of_capacity" => "von",
        "closed_now" => "Jetzt geschlossen",
        "green" => "Grün",
        "yellow" => "Gelb",
        "red" => "Rot",
        "date" => "Datum",
        "time" => "Zeit",
        "code" => "Code",
        "party_size" => "Personen",
        "guest" => "Name",
        "status" => "Status",
        "actions" => "Aktionen",
        "no_show" => "Nicht erschienen",
        "no_bookings" => "Keine Buchungen an diesem Tag.",
        "confirmed" => "Bestätigt",
        "cancelled" => "Storniert",
        "no_show_status" => "Nicht erschienen",
        "slot_minutes" => "Länge eines Zeitfensters (Minuten)",
        "capacity" => "Kapazität",
        "horizon_days" => "Buchbar im Voraus (Tage)",
        "per_person" => "Buchungen pro Person",
        "open" => "Öffnet",
        "close" => "Schließt",
        "add_interval" => "Öffnungszeit hinzufügen",
        "remove" => "Entfernen",
        "exceptions" => "Ausnahmen",
        "closed_all_day" => "Ganztägig geschlossen",
        "add_exception" => "Ausnahme hinzufügen",
        "save_schedule" => "Öffnungszeiten speichern",
        "saved" => "Gespeichert.",
        "affected" => "Buchungen außerhalb der neuen Öffnungszeiten (sie bleiben gültig)",
        "none_affected" => "Keine bestehende Buchung liegt außerhalb der neuen Öffnungszeiten.",
        "mon" => "Montag",
        "tue" => "Dienstag",
        "wed" => "Mittwoch",
        "thu" => "Donnerstag",
        "fri" => "Freitag",
        "sat" => "Samstag",
        "sun" => "Sonntag",
        "members" => "Mitglieder",
        "add_staff" => "Personal hinzufügen",
        "role" => "Rolle",
        "prefix" => "Präfix",
        "scopes" => "Berechtigungen",
        "created" => "Erstellt",
        "create_key" => "Schlüssel erstellen",
        "new_key" => "Neuer Schlüssel (wird nur einmal gezeigt)",
        "copy" => "Kopieren",
        "copied" => "Kopiert.",
        "revoke" => "Widerrufen",
        "revoked" => "Widerrufen",
        "url" => "URL",
        "events" => "Ereignisse",
        "add_webhook" => "Webhook hinzufügen",
        "secret" => "Signaturgeheimnis (wird nur einmal gezeigt)",
        "deliveries" => "Letzte Zustellungen",
        "show_deliveries" => "Zustellungen zeigen",
        "no_deliveries" => "Noch keine Zustellungen.",
        "attempt" => "Versuch",
        "result" => "Ergebnis",
        "request_failed" => "Die Anfrage ist fehlgeschlagen",
        "network_failed" => "Der Server war nicht erreichbar.",
        _ => return None,
    })
}
