//! The shoppers' booking page (`/book/{store_id}`) and the staff app's "Poster", in headless
//! Chromium through WebDriver: elements are found by role and accessible name (shared/UI.md,
//! "Shopper booking page"), axe-core checks the page, QR codes are read back by a real decoder,
//! and a phone-sized screenshot is kept under target/screenshots/. The day shown is two days
//! ahead (store-local), so nothing depends on the time of day.

use safemarket_blackbox::browser::{Browser, Element};
use safemarket_blackbox::{
    blackbox, qr, utc_date_in, zone, Booking, Guest, Store, TestApp, TestUser,
};
use serde_json::{json, Value};

#[track_caller]
fn need_browser() {
    if !safemarket_blackbox::browser::available() {
        panic!("chromium and chromedriver are missing: run scripts/setup.sh");
    }
}

/// A Berlin store open around the clock, hourly slots of 4 places; its 11:00 slot on `date`
/// filled through the API by another guest (returned with the booking).
fn store_with_a_full_slot(app: &TestApp, owner: &TestUser, date: &str) -> (Store, Guest, Booking) {
    let store = app.store_open_all_day(owner, 60, 4);
    let guest = app.guest();
    let booking = app
        .book_party(&guest, &store, &zone::berlin_utc(date, "11:00"), 4)
        .created();
    (store, guest, booking)
}

/// The owner's view of the store's bookings on `date`.
fn day_bookings(app: &TestApp, owner: &TestUser, store: &Store, date: &str) -> Vec<Value> {
    let resp = app
        .client(owner)
        .get(&store.path(&format!("/bookings?date={date}&limit=200")));
    resp.expect_status(200);
    resp.json()["items"].as_array().cloned().unwrap_or_default()
}

/// The text of the element's `href` or `src`.
fn attribute(browser: &Browser, e: &Element, name: &str) -> String {
    browser
        .property(e, name)
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn open_day(browser: &Browser, base: &str, store: &Store, lang: &str, date: &str) {
    browser.goto(&format!("{base}/book/{}?lang={lang}", store.id));
    let label = if lang == "de" { "Datum" } else { "Date" };
    browser.set_value(&browser.find("date", label), date);
}

#[blackbox]
fn a_shopper_books_a_time_sees_the_code_and_qr_and_cancels_it() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("book-page");
    let date = utc_date_in(2);
    let (store, _, _) = store_with_a_full_slot(&app, &owner, &date);
    let browser = Browser::start(360, 780);

    open_day(&browser, &base, &store, "en", &date);
    browser.find("heading", "Test Market");
    let occupancy = browser.find("region", "Occupancy");
    assert!(!browser.text(&occupancy).is_empty());
    assert!(browser
        .page_text()
        .contains("Alexanderplatz 1, 10178 Berlin"));
    assert!(browser.page_text().contains("Supermarket"));

    // The full slot is disabled and offers the waiting list; a free one says its places.
    let full = browser.find("button", "11:00, full");
    assert_eq!(browser.property(&full, "disabled"), json!(true));
    browser.find("button", "Join waiting list");
    let ten = browser.find("button", "10:00, 4 places free");
    assert_eq!(browser.property(&ten, "disabled"), json!(false));

    browser.click(&ten);
    browser.set_value(&browser.find("combobox", "People"), "2");
    browser.click(&browser.find("button", "Book"));
    let status = browser.find_role("status");
    browser.wait_until("the booking's code", |b| {
        b.text(&status).contains("Your code")
    });

    // The code shown is the booking the store sees, at 10:00 for two.
    let booked = day_bookings(&app, &owner, &store, &date);
    let mine = booked
        .iter()
        .find(|b| b["party_size"] == 2)
        .unwrap_or_else(|| panic!("a booking for two in {booked:?}"));
    assert_eq!(mine["slot_start"], zone::berlin_utc(&date, "10:00"));
    let code = mine["code"].as_str().unwrap_or_default().to_string();
    let id = mine["id"].as_str().unwrap_or_default().to_string();
    assert!(
        browser.text(&status).contains(&code),
        "{}",
        browser.text(&status)
    );

    // Its QR code reads back as the code; the calendar file is this one booking.
    let image = browser.find("img", "QR code");
    assert_eq!(
        qr::decode_svg(&qr::data_url_text(&attribute(&browser, &image, "src"))),
        code
    );
    let calendar = qr::data_url_text(&attribute(
        &browser,
        &browser.find("link", "Add to calendar"),
        "href",
    ));
    assert!(
        calendar.contains(&format!("UID:{id}@safemarket.dev")),
        "{calendar}"
    );
    let start = zone::berlin_utc(&date, "10:00").replace(['-', ':'], "");
    assert!(calendar.contains(&format!("DTSTART:{start}")), "{calendar}");

    // Listed under My bookings; the slot counts the two places live.
    browser.find("heading", "My bookings");
    browser.wait_until("listed with its own cancel button", |b| {
        !b.all("button", Some("Cancel booking")).is_empty()
    });
    browser.find("button", "10:00, 2 places free");
    browser.assert_accessible("booked");
    browser.shot("book-phone");

    // Moved to 12:00 from My bookings: the same booking, atomically in its new slot.
    browser.click(&browser.find("button", "Change time"));
    browser.click(&browser.find("button", "12:00, 4 places free"));
    browser.click(&browser.find("button", "Move here"));
    browser.wait_until("moved", |b| b.page_text().contains("Moved:"));
    browser.find("button", "10:00, 4 places free");
    browser.find("button", "12:00, 2 places free");
    let moved = day_bookings(&app, &owner, &store, &date);
    let moved = moved.iter().find(|b| b["id"] == id.as_str());
    assert_eq!(
        moved.map(|b| b["slot_start"].clone()),
        Some(json!(zone::berlin_utc(&date, "12:00")))
    );

    browser.click(&browser.find("link", "Cancel booking"));
    browser.wait_until("cancelled", |b| {
        b.page_text()
            .contains(&format!("Booking {code} is cancelled."))
    });
    let after = day_bookings(&app, &owner, &store, &date);
    let cancelled = after.iter().find(|b| b["id"] == id.as_str());
    assert_eq!(
        cancelled.map(|b| b["status"].clone()),
        Some(json!("cancelled"))
    );
    browser.find("button", "12:00, 4 places free");
    browser.wait_until("no longer listed", |b| {
        b.all("button", Some("Cancel booking")).is_empty()
    });
}

#[blackbox]
fn a_shopper_on_the_waiting_list_sees_the_offer_arrive_and_accepts_it() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("book-page-wait");
    let date = utc_date_in(2);
    let (store, filler, filled) = store_with_a_full_slot(&app, &owner, &date);
    let browser = Browser::start(360, 780);

    open_day(&browser, &base, &store, "en", &date);
    browser.find("button", "11:00, full");
    browser.click(&browser.find("button", "Join waiting list"));
    let waiting = browser.find_role("status");
    browser.wait_until("on the list", |b| {
        b.text(&waiting)
            .contains("waiting list for 11:00 (position 1)")
    });
    browser.assert_accessible("waiting");

    // The places free up: the offer arrives without a reload, with its countdown.
    app.cancel(&filler, &filled).expect_status(204);
    let accept = browser.find("button", "Accept offer");
    let offer = browser.find_role("status");
    assert!(
        browser.text(&offer).contains("The offer runs out in"),
        "{}",
        browser.text(&offer)
    );
    browser.click(&accept);
    browser.wait_until("booked from the offer", |b| {
        b.page_text().contains("Your code")
    });
    let booked = day_bookings(&app, &owner, &store, &date);
    let taken = booked
        .iter()
        .find(|b| b["status"] == "confirmed")
        .unwrap_or_else(|| panic!("the accepted booking in {booked:?}"));
    assert_eq!(taken["slot_start"], zone::berlin_utc(&date, "11:00"));
    let code = taken["code"].as_str().unwrap_or_default();
    assert!(browser.page_text().contains(code));
}

#[blackbox]
fn a_signed_in_shopper_books_with_the_account() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("book-page-account");
    let shopper = app.shopper("book-page-account-shopper");
    let date = utc_date_in(2);
    let store = app.store_open_all_day(&owner, 60, 4);
    let browser = Browser::start(360, 780);

    open_day(&browser, &base, &store, "en", &date);
    browser.click(&browser.find("button", "Have an account? Sign in to book with it"));
    browser.fill(&browser.find("textbox", "Email"), &shopper.email);
    browser.fill(&browser.find("textbox", "Password"), &shopper.password);
    browser.click(&browser.find("button", "Sign in"));
    browser.find("button", "Sign out");
    browser.click(&browser.find("button", "10:00, 4 places free"));
    browser.click(&browser.find("button", "Book"));
    browser.wait_until("booked", |b| b.page_text().contains("Your code"));

    // The booking is the account's, not a guest's.
    let start = zone::berlin_utc(&date, "10:00");
    let mine = app.my_bookings_eventually(&shopper, "upcoming", |body| {
        body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|b| b["slot_start"] == start.as_str()))
    });
    let code = mine["items"]
        .as_array()
        .and_then(|items| items.iter().find(|b| b["slot_start"] == start.as_str()))
        .and_then(|b| b["code"].as_str())
        .unwrap_or_else(|| panic!("the account's booking in {mine}"))
        .to_string();
    assert!(browser.page_text().contains(&code));
    browser.assert_accessible("signed in");

    // Signing out is the guest again, whose list does not have it.
    browser.click(&browser.find("button", "Sign out"));
    browser.find("button", "Have an account? Sign in to book with it");
    browser.wait_until("the guest's empty list", |b| {
        b.page_text().contains("No bookings from this browser yet.")
    });
}

#[blackbox]
fn the_booking_page_speaks_german_and_remembers_it() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("book-page-de");
    let date = utc_date_in(2);
    let (store, _, _) = store_with_a_full_slot(&app, &owner, &date);
    let browser = Browser::start(360, 780);

    open_day(&browser, &base, &store, "de", &date);
    browser.find("region", "Auslastung");
    browser.find("heading", "Meine Buchungen");
    browser.find("combobox", "Personen");
    browser.find("button", "Buchen");
    browser.find("button", "Auf die Warteliste");
    let full = browser.find("button", "11:00, ausgebucht");
    assert_eq!(browser.property(&full, "disabled"), json!(true));
    browser.find("button", "10:00, 4 Plätze frei");
    assert_eq!(browser.html_lang(), "de");
    browser.assert_accessible("German");

    // Remembered without `?lang=`; `<html lang>` follows a switch back.
    browser.goto(&format!("{base}/book/{}", store.id));
    browser.find("date", "Datum");
    assert_eq!(browser.html_lang(), "de");
    browser.set_value(&browser.find("combobox", "Sprache"), "en");
    browser.find("date", "Date");
    assert_eq!(browser.html_lang(), "en");
}

#[blackbox]
fn an_unknown_store_s_booking_page_says_so_in_words() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let browser = Browser::start(360, 780);
    browser.goto(&format!(
        "{base}/book/00000000-0000-4000-8000-000000000000?lang=en"
    ));
    let alert = browser.find_role("alert");
    assert!(
        browser.text(&alert).contains("names no store"),
        "{}",
        browser.text(&alert)
    );
    browser.assert_accessible("unknown store");
}

/// The grey-scale pixels of an `<img>` as the page drew it (on a canvas, twice its size).
fn drawn_pixels(browser: &Browser, image: &Element) -> (usize, usize, Vec<u8>) {
    let drawn = browser.exec_async(
        "const img = arguments[0], done = arguments[arguments.length - 1];
         const draw = () => {
           const w = img.naturalWidth * 2, h = img.naturalHeight * 2;
           const c = document.createElement('canvas'); c.width = w; c.height = h;
           const x = c.getContext('2d'); x.fillStyle = '#fff'; x.fillRect(0, 0, w, h);
           x.drawImage(img, 0, 0, w, h);
           const d = x.getImageData(0, 0, w, h).data, g = [];
           for (let i = 0; i < w * h; i++) g.push(Math.round((d[4*i] + d[4*i+1] + d[4*i+2]) / 3));
           done([w, h, g]);
         };
         if (img.complete && img.naturalWidth) draw(); else img.onload = draw;",
        json!([{"element-6066-11e4-a52e-4f735466cecf": image.0}]),
    );
    let size = |i: usize| drawn[i].as_u64().unwrap_or_default() as usize;
    let pixels = drawn[2]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_u64().unwrap_or(255) as u8)
        .collect();
    (size(0), size(1), pixels)
}

#[blackbox]
fn the_staff_app_s_poster_has_a_qr_code_of_the_booking_page() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("poster");
    let store = app.store_open_all_day(&owner, 60, 4);
    let browser = Browser::start(1280, 900);
    crate::staff_app::sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    browser.goto(&format!("{base}/staff/s/{}", store.id));
    browser.click(&browser.find("link", "Poster"));

    let image = browser.find("img", "QR code of the booking page");
    let (w, h, pixels) = drawn_pixels(&browser, &image);
    assert_eq!(
        qr::decode_pixels(w, h, &pixels),
        format!("{base}/book/{}", store.id)
    );
    assert!(browser.page_text().contains("Test Market"));
    // Printable on A4.
    let a4 = browser.exec(
        "return Array.from(document.styleSheets).some(s => Array.from(s.cssRules)
           .some(r => r instanceof CSSPageRule && r.style.getPropertyValue('size').toLowerCase().includes('a4')));",
        json!([]),
    );
    assert_eq!(a4, json!(true));
    browser.find("button", "Print");
    browser.assert_accessible("poster");
    browser.shot("poster");
}

#[blackbox]
fn the_poster_qr_code_is_the_booking_page_url_for_anyone() {
    let app = TestApp::shared();
    let owner = app.owner("poster-qr");
    let store = app.store_open_all_day(&owner, 60, 4);
    let resp = app.api().get(&store.path("/poster-qr.svg"));
    resp.expect_status(200);
    assert_eq!(resp.header("content-type"), Some("image/svg+xml"));
    assert_eq!(
        qr::decode_svg(&resp.text),
        format!("{}/book/{}", app.api().base(), store.id)
    );
    app.api()
        .get("/api/v1/stores/00000000-0000-4000-8000-000000000000/poster-qr.svg")
        .expect_problem(404, "not-found");
}

#[blackbox]
fn the_booking_page_shell_is_served_under_its_page_policy() {
    let app = TestApp::shared();
    let resp = app.api().get("/book/any-store-id");
    resp.expect_status(200);
    assert!(resp.text.contains("<html"), "{}", resp.text);
    let csp = resp.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
}

/// How long the polling test waits for the page's next poll (the page polls every 20 s).
const POLL_WAIT: std::time::Duration = std::time::Duration::from_secs(45);

#[blackbox]
fn without_a_live_feed_the_booking_page_polls_the_day() {
    need_browser();
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("book-poll");
    let date = utc_date_in(2);
    let (store, _, _) = store_with_a_full_slot(&app, &owner, &date);
    let browser = Browser::start(360, 780);
    // A browser (or a proxy) without WebSockets: the page cannot open its live feed.
    browser.before_page_scripts(
        "window.WebSocket = function () { throw new Error('no WebSockets here'); };",
    );
    open_day(&browser, &base, &store, "en", &date);
    browser.find("button", "10:00, 4 places free");
    assert_eq!(
        browser.exec(
            "try { new WebSocket('ws://127.0.0.1:9/'); return 'opened'; } catch (e) { return 'refused'; }",
            json!([]),
        ),
        json!("refused"),
        "the page has no WebSockets"
    );

    // Someone else fills 10:00 through the API: only the page's polling can tell it.
    app.book_party(&app.guest(), &store, &zone::berlin_utc(&date, "10:00"), 4)
        .created();
    let deadline = std::time::Instant::now() + POLL_WAIT;
    while browser.all("button", Some("10:00, full")).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "10:00 not shown full within {POLL_WAIT:?}: {}",
            browser.page_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(browser
        .all("button", Some("10:00, 4 places free"))
        .is_empty());
}
