//! The language shown and the lookup of an app's strings: the language is chosen by `?lang=`,
//! the remembered choice or the browser's language; each app installs its own catalogue (one
//! function per language) at start, and this crate adds the few strings of its own failures.

use leptos::prelude::*;

/// A language the apps are written in.
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

/// One language's strings: the text of a key, `None` when the catalogue lacks it.
pub type Catalogue = fn(&str) -> Option<&'static str>;

/// An app's strings and where its choice of language is remembered.
#[derive(Clone, Copy)]
pub struct Strings {
    /// The `localStorage` key of the remembered language (one per app).
    pub key: &'static str,
    /// The English catalogue.
    pub en: Catalogue,
    /// The German catalogue.
    pub de: Catalogue,
}

fn none(_: &str) -> Option<&'static str> {
    None
}

thread_local! {
    static SHOWN: std::cell::OnceCell<RwSignal<Lang>> = const { std::cell::OnceCell::new() };
    static STRINGS: std::cell::Cell<Strings> = const {
        std::cell::Cell::new(Strings { key: "safemarket.lang", en: none, de: none })
    };
}

fn strings() -> Strings {
    STRINGS.with(std::cell::Cell::get)
}

/// Makes `strings` the app's catalogue and answers the language at start: `?lang=` (then
/// remembered), the remembered one, the browser's.
pub fn initial(app: Strings) -> Lang {
    STRINGS.with(|s| s.set(app));
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
        .and_then(|s| s.get_item(strings().key).ok().flatten())
        .and_then(|t| Lang::parse(&t));
    stored
        .or_else(|| {
            window
                .and_then(|w| w.navigator().language())
                .and_then(|t| Lang::parse(&t))
        })
        .unwrap_or(Lang::En)
}

/// An app's language start-up: chooses the language with `app`'s catalogue (see
/// [`initial`]), shows and remembers it, and answers the signal that [`t`] and
/// [`LanguageSelect`] follow. Call [`keep_remembered`] with it inside the mounted view.
pub fn start(app: Strings) -> RwSignal<Lang> {
    let signal = RwSignal::new(initial(app));
    remember(signal.get_untracked());
    install(signal);
    signal
}

/// Remembers every later choice of `signal` (an effect, so it needs the mounted view's owner).
pub fn keep_remembered(signal: RwSignal<Lang>) {
    Effect::new(move |_| remember(signal.get()));
}

/// Remembers the choice and names it in `<html lang>`.
pub fn remember(lang: Lang) {
    if let Some(w) = web_sys::window() {
        if let Ok(Some(s)) = w.local_storage() {
            let _ = s.set_item(strings().key, lang.tag());
        }
        if let Some(html) = w.document().and_then(|d| d.document_element()) {
            let _ = html.set_attribute("lang", lang.tag());
        }
    }
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
    let catalogue = strings();
    let found = match lang {
        Lang::En => (catalogue.en)(key).or_else(|| own_en(key)),
        Lang::De => (catalogue.de)(key).or_else(|| own_de(key)),
    };
    found.unwrap_or(key)
}

/// The control labelled "Language": switches the language shown and remembers the choice.
#[component]
pub fn LanguageSelect() -> impl IntoView {
    let lang = lang();
    view! {
        <label class="lang">
            {move || t("language")}
            " "
            <select on:change=move |ev| {
                if let Some(l) = Lang::parse(&event_target_value(&ev)) {
                    remember(l);
                    lang.set(l);
                }
            }>
                <option value="en" selected=move || lang.get() == Lang::En lang="en">"English"</option>
                <option value="de" selected=move || lang.get() == Lang::De lang="de">"Deutsch"</option>
            </select>
        </label>
    }
}

/// This crate's own strings (the failures of [`crate::http`], the occupancy element), in
/// English; an app's catalogue may word them its own way.
fn own_en(key: &str) -> Option<&'static str> {
    Some(match key {
        "network_failed" => "The server could not be reached.",
        "request_failed" => "The request failed",
        "language" => "Language",
        "occupancy" => "Occupancy",
        "booked" => "booked",
        "checked_in" => "Checked in",
        "closed_now" => "Closed now",
        "green" => "Green",
        "yellow" => "Yellow",
        "red" => "Red",
        _ => return None,
    })
}

/// This crate's own strings, in German.
fn own_de(key: &str) -> Option<&'static str> {
    Some(match key {
        "network_failed" => "Der Server war nicht erreichbar.",
        "request_failed" => "Die Anfrage ist fehlgeschlagen",
        "language" => "Sprache",
        "occupancy" => "Auslastung",
        "booked" => "gebucht",
        "checked_in" => "Eingecheckt",
        "closed_now" => "Jetzt geschlossen",
        "green" => "Grün",
        "yellow" => "Gelb",
        "red" => "Rot",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_by_their_primary_language() {
        assert_eq!(Lang::parse("de-AT"), Some(Lang::De));
        assert_eq!(Lang::parse("en_GB"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn the_crate_s_own_strings_exist_in_both_languages() {
        for key in [
            "network_failed",
            "request_failed",
            "language",
            "occupancy",
            "booked",
            "checked_in",
            "closed_now",
            "green",
            "yellow",
            "red",
        ] {
            assert!(own_en(key).is_some(), "en lacks {key}");
            assert!(own_de(key).is_some(), "de lacks {key}");
        }
    }
}
