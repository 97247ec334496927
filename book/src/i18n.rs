//! The booking page's strings: one catalogue per language (the machinery that chooses the
//! language is `safemarket_web::i18n`). English names are the accessible names of shared/UI.md
//! ("Shopper booking page"); `{n}`, `{time}`, `{code}` are filled in by the page.

pub use safemarket_web::i18n::{keep_remembered, lang, start, t};

/// The booking page's catalogues and the key of its remembered language.
pub const STRINGS: safemarket_web::i18n::Strings = safemarket_web::i18n::Strings {
    key: "safemarket.book.lang",
    en,
    de,
};

/// `key`'s text with `{name}` replaced by each value, in the language shown.
pub fn fill(key: &'static str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(t(key).to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

fn en(key: &str) -> Option<&'static str> {
    Some(match key {
        "brand" => "SafeMarket: book a time",
        "no_storage" => "This browser keeps no data for this page (private mode?), so it cannot book.",
        "loading" => "Loading…",
        "no_store" => "This address names no store. Check the link or the QR code you followed.",
        "store_closed" => "This store has closed and takes no bookings.",
        "supermarket" => "Supermarket",
        "bakery" => "Bakery",
        "pharmacy" => "Pharmacy",
        "other" => "Shop",
        "times" => "Times",
        "date" => "Date",
        "no_slots" => "No times on this day.",
        "free_many" => "{time}, {n} places free",
        "free_one" => "{time}, 1 place free",
        "full" => "{time}, full",
        "people" => "People",
        "book" => "Book",
        "move_here" => "Move here",
        "moving" => "Choose a new time for booking {code}, then “Move here”.",
        "keep" => "Keep the time",
        "choose_slot" => "Choose a time first.",
        "booked_title" => "Booked: {time}, {people}",
        "moved_title" => "Moved: {time}, {people}",
        "your_code" => "Your code (show it at the door)",
        "qr_code" => "QR code",
        "add_calendar" => "Add to calendar",
        "cancel_booking" => "Cancel booking",
        "change_time" => "Change time",
        "cancelled" => "Booking {code} is cancelled.",
        "my_bookings" => "My bookings",
        "none_yet" => "No bookings from this browser yet.",
        "person" => "1 person",
        "persons" => "{n} people",
        "join_waitlist" => "Join waiting list",
        "waiting" => "You are on the waiting list for {time} (position {n}). A free place is offered to you here.",
        "offered" => "A place is free for you at {time}. The offer runs out in {left}.",
        "accept" => "Accept offer",
        "leave" => "Leave waiting list",
        "expired" => "The offer for {time} has run out.",
        "summary" => "{store}: booking {code}",
        "description" => "Booking code {code}, {people}",
        "account_intro" => "Have an account? Sign in to book with it",
        "email" => "Email",
        "password" => "Password",
        "sign_in" => "Sign in",
        "signed_in_as" => "Signed in as {email}.",
        "sign_out" => "Sign out",
        _ => return None,
    })
}

fn de(key: &str) -> Option<&'static str> {
    Some(match key {
        "brand" => "SafeMarket: Zeit buchen",
        "no_storage" => "Dieser Browser speichert für diese Seite nichts (privater Modus?), daher kann er nicht buchen.",
        "loading" => "Wird geladen…",
        "no_store" => "Diese Adresse nennt kein Geschäft. Bitte den Link oder QR-Code prüfen.",
        "store_closed" => "Dieses Geschäft ist geschlossen und nimmt keine Buchungen an.",
        "supermarket" => "Supermarkt",
        "bakery" => "Bäckerei",
        "pharmacy" => "Apotheke",
        "other" => "Geschäft",
        "times" => "Zeiten",
        "date" => "Datum",
        "no_slots" => "An diesem Tag gibt es keine Zeiten.",
        "free_many" => "{time}, {n} Plätze frei",
        "free_one" => "{time}, 1 Platz frei",
        "full" => "{time}, ausgebucht",
        "people" => "Personen",
        "book" => "Buchen",
        "move_here" => "Hierher verschieben",
        "moving" => "Neue Zeit für Buchung {code} wählen, dann „Hierher verschieben“.",
        "keep" => "Zeit behalten",
        "choose_slot" => "Bitte zuerst eine Zeit wählen.",
        "booked_title" => "Gebucht: {time}, {people}",
        "moved_title" => "Verschoben: {time}, {people}",
        "your_code" => "Ihr Code (an der Tür zeigen)",
        "qr_code" => "QR-Code",
        "add_calendar" => "Zum Kalender hinzufügen",
        "cancel_booking" => "Buchung stornieren",
        "change_time" => "Zeit ändern",
        "cancelled" => "Buchung {code} ist storniert.",
        "my_bookings" => "Meine Buchungen",
        "none_yet" => "Noch keine Buchungen aus diesem Browser.",
        "person" => "1 Person",
        "persons" => "{n} Personen",
        "join_waitlist" => "Auf die Warteliste",
        "waiting" => "Sie stehen auf der Warteliste für {time} (Platz {n}). Ein frei werdender Platz wird Ihnen hier angeboten.",
        "offered" => "Um {time} ist ein Platz für Sie frei. Das Angebot gilt noch {left}.",
        "accept" => "Angebot annehmen",
        "leave" => "Warteliste verlassen",
        "expired" => "Das Angebot für {time} ist abgelaufen.",
        "summary" => "{store}: Buchung {code}",
        "description" => "Buchungscode {code}, {people}",
        "account_intro" => "Sie haben ein Konto? Melden Sie sich an, um damit zu buchen",
        "email" => "E-Mail",
        "password" => "Passwort",
        "sign_in" => "Anmelden",
        "signed_in_as" => "Angemeldet als {email}.",
        "sign_out" => "Abmelden",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &[
        "brand",
        "no_storage",
        "loading",
        "no_store",
        "store_closed",
        "supermarket",
        "bakery",
        "pharmacy",
        "other",
        "times",
        "date",
        "no_slots",
        "free_many",
        "free_one",
        "full",
        "people",
        "book",
        "move_here",
        "moving",
        "keep",
        "choose_slot",
        "booked_title",
        "moved_title",
        "your_code",
        "qr_code",
        "add_calendar",
        "cancel_booking",
        "change_time",
        "cancelled",
        "my_bookings",
        "none_yet",
        "person",
        "persons",
        "join_waitlist",
        "waiting",
        "offered",
        "accept",
        "leave",
        "expired",
        "summary",
        "description",
        "account_intro",
        "email",
        "password",
        "sign_in",
        "signed_in_as",
        "sign_out",
    ];

    #[test]
    fn both_catalogues_have_every_key() {
        for key in KEYS {
            assert!(en(key).is_some(), "en lacks {key}");
            assert!(de(key).is_some(), "de lacks {key}");
        }
    }

    #[test]
    fn the_binding_english_names_are_ui_md_s() {
        for (key, name) in [
            ("date", "Date"),
            ("people", "People"),
            ("book", "Book"),
            ("qr_code", "QR code"),
            ("add_calendar", "Add to calendar"),
            ("cancel_booking", "Cancel booking"),
            ("my_bookings", "My bookings"),
            ("join_waitlist", "Join waiting list"),
        ] {
            assert_eq!(en(key), Some(name));
        }
    }
}
