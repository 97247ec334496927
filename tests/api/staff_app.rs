//! The staff app (`/staff/`) in headless Chromium through WebDriver: every element is found by
//! its role and accessible name (shared/UI.md), axe-core checks each screen, and screenshots of
//! the main screens are kept under target/screenshots/.

use safemarket_blackbox::browser::{Browser, Element};
use safemarket_blackbox::{blackbox, server::project_root, Store, TestApp};

fn shot(browser: &Browser, name: &str) {
    browser.screenshot(
        &project_root()
            .join("target/screenshots")
            .join(format!("{name}.png")),
    );
}

#[track_caller]
fn accessible(browser: &Browser, screen: &str) {
    let violations = browser.axe_violations();
    assert!(
        violations.is_empty(),
        "{screen}: axe-core serious/critical: {violations:#?}"
    );
}

/// The current slot's start (the store is open all day), booked for a fresh guest with `party`.
fn book_now(app: &TestApp, store: &Store, party: u32) -> String {
    (0..2)
        .map(|_| {
            let occupancy = app.occupancy(store).json();
            let current = occupancy["slot_start"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            app.book_party(&app.guest(), store, &current, party)
        })
        .find(|r| r.status != 422)
        .expect("a current slot to book")
        .created()
        .code()
        .to_string()
}

fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/staff/?lang=en"));
    browser.fill(&browser.find("textbox", "Email"), email);
    browser.fill(&browser.find("textbox", "Password"), password);
    browser.click(&browser.find("button", "Sign in"));
}

fn has_text(b: &Browser, e: &Element, words: &[&str]) -> bool {
    let text = b.text(e);
    words.iter().all(|w| text.contains(w))
}

#[blackbox]
fn staff_run_a_store_from_sign_in_to_no_show() {
    if !safemarket_blackbox::browser::available() {
        panic!("chromium and chromedriver are missing: run scripts/setup.sh");
    }
    let app = TestApp::shared();
    let base = app.api().base().to_string();
    let owner = app.owner("staff-app");
    let browser = Browser::start(1280, 900);

    // A wrong password: the problem document's words in an alert.
    sign_in(&browser, &base, &owner.email, "not the password");
    let alert = browser.find_role("alert");
    assert!(
        browser.text(&alert).contains("Unauthorized"),
        "{}",
        browser.text(&alert)
    );
    accessible(&browser, "sign in");
    shot(&browser, "sign-in");

    sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    browser.find("button", "Sign out");
    browser.click(&browser.find("link", "New store"));

    browser.fill(&browser.find("textbox", "Name"), "Browser Bakery");
    browser.set_value(&browser.find("combobox", "Category"), "bakery");
    browser.fill(
        &browser.find("textbox", "Address"),
        "Alexanderplatz 1, 10178 Berlin",
    );
    browser.fill(&browser.find("textbox", "Latitude"), "52.5219");
    browser.fill(&browser.find("textbox", "Longitude"), "13.4132");
    browser.set_value(&browser.find("combobox", "Time zone"), "Europe/Berlin");
    accessible(&browser, "new store");
    browser.click(&browser.find("button", "Create store"));

    // The schedule: hourly slots of 10 places, open all day on every weekday.
    browser.find("heading", "Browser Bakery");
    browser.fill(&browser.find("spinbutton", "Slot length (minutes)"), "60");
    browser.fill(&browser.find("spinbutton", "Capacity"), "10");
    browser.fill(&browser.find("spinbutton", "Booking horizon (days)"), "14");
    browser.fill(&browser.find("spinbutton", "Bookings per person"), "5");
    browser.wait_until("seven add buttons", |b| {
        b.all("button", Some("Add opening hours")).len() == 7
    });
    for add in browser.all("button", Some("Add opening hours")) {
        browser.click(&add);
    }
    browser.wait_until("seven intervals", |b| {
        b.all("textbox", Some("Close")).len() == 7
    });
    // A bad closing time first: the API's 422 names the field, shown at it.
    let closes = browser.all("textbox", Some("Close"));
    for (i, field) in browser.all("textbox", Some("Open")).iter().enumerate() {
        browser.fill(field, "00:00");
        browser.fill(&closes[i], if i == 0 { "25:00" } else { "24:00" });
    }
    browser.click(&browser.find("button", "Save schedule"));
    browser.find_role("alert");
    browser.wait_until("the field error at Monday's Close", |b| {
        b.exec(
            "const e = document.getElementById(document.querySelectorAll('input[placeholder=\"HH:MM\"]')[1].getAttribute('aria-describedby')); return !!e && e.textContent.length > 0;",
            serde_json::json!([]),
        ) == serde_json::json!(true)
    });
    browser.fill(&browser.all("textbox", Some("Close"))[0], "24:00");
    browser.click(&browser.find("button", "Save schedule"));
    browser.wait_until("saved", |b| b.all("status", Some("Saved.")).len() == 1);
    accessible(&browser, "schedule");
    shot(&browser, "schedule");

    let path = browser.exec("return location.pathname;", serde_json::json!([]));
    let id = path
        .as_str()
        .unwrap_or_default()
        .split('/')
        .nth(3)
        .unwrap_or_default()
        .to_string();
    let store = Store { id };

    // A shopper books through the API; the door checks the code in.
    let code = book_now(&app, &store, 2);
    browser.click(&browser.find("link", "Door"));
    browser.fill(
        &browser.find("textbox", "Booking code"),
        &code.to_lowercase(),
    );
    browser.click(&browser.find("button", "Check in"));
    let status = browser.find_role("status");
    browser.wait_until("checked in", |b| {
        has_text(b, &status, &["Checked in", "2 People"])
    });
    let occupancy = browser.find("region", "Occupancy");
    browser.wait_until("occupancy counts the party", |b| {
        has_text(b, &occupancy, &["2 / 10", "2 Checked in", "Green"])
    });
    browser.fill(&browser.find("textbox", "Booking code"), "ZZZZZZZZ");
    browser.click(&browser.find("button", "Check in"));
    let alert = browser.find_role("alert");
    browser.wait_until("unknown code", |b| has_text(b, &alert, &["Unknown code"]));
    accessible(&browser, "door");
    shot(&browser, "door");

    // Today lists it; a new booking appears live; a no-show is marked.
    browser.click(&browser.find("link", "Today"));
    browser.find("date", "Date");
    let table = browser.find_role("table");
    browser.wait_until("today lists the checked-in booking", |b| {
        has_text(b, &table, &[&code, "Checked in"])
    });
    let second = book_now(&app, &store, 1);
    browser.wait_until("the new booking appears live", |b| {
        b.page_text().contains(&second)
    });
    browser.click(&browser.find("button", "No-show"));
    browser.wait_until("no-show marked", |b| {
        b.all("button", Some("No-show")).is_empty() && b.page_text().contains("No-show")
    });
    accessible(&browser, "today");
    shot(&browser, "today");

    for (screen, heading) in [
        ("Staff", "Members"),
        ("API keys", "API keys"),
        ("Webhooks", "Webhooks"),
    ] {
        browser.click(&browser.find("link", screen));
        browser.find("heading", heading);
    }
    browser.click(&browser.find("link", "API keys"));
    browser.fill(&browser.find("textbox", "Name"), "Hotline");
    browser.click(&browser.find("button", "Create key"));
    browser.find("button", "Copy");
    browser.find("button", "Revoke");
    accessible(&browser, "api keys");

    // Phone width.
    browser.resize(360, 780);
    browser.click(&browser.find("link", "Door"));
    browser.find("textbox", "Booking code");
    shot(&browser, "door-phone");

    // German, remembered; `<html lang>` names it.
    browser.resize(1280, 900);
    browser.goto(&format!("{base}/staff/?lang=de"));
    browser.find("heading", "Ihre Geschäfte");
    assert_eq!(browser.html_lang(), "de");
    browser.find("combobox", "Sprache");
    browser.goto(&format!("{base}/staff/"));
    browser.find("link", "Neues Geschäft");
    accessible(&browser, "stores (de)");
    shot(&browser, "stores-de");
    browser.resize(360, 780);
    shot(&browser, "stores-phone");

    // The manifest's icons are PNGs.
    for icon in ["/staff/icon-192.png", "/staff/icon-512.png"] {
        let kind = browser.exec_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done(r.status + ' ' + r.headers.get('content-type')), e => done(String(e)));",
            serde_json::json!([icon]),
        );
        assert_eq!(kind, serde_json::json!("200 image/png"), "{icon}");
    }

    // Sign out revokes the session.
    browser.click(&browser.find("button", "Abmelden"));
    browser.find("button", "Anmelden");
}

#[blackbox]
fn staff_app_shell_serves_deep_links_and_the_manifest() {
    let app = TestApp::shared();
    let deep = app.api().get("/staff/s/some-store/door");
    deep.expect_status(200);
    assert!(
        deep.text.contains("/staff/manifest.webmanifest"),
        "{}",
        deep.text
    );
    let csp = deep.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let manifest = app.api().get("/staff/manifest.webmanifest");
    manifest.expect_status(200);
    let m: serde_json::Value = serde_json::from_str(&manifest.text).expect("manifest JSON");
    assert_eq!(m["name"], "SafeMarket Staff");
    assert_eq!(m["start_url"], "/staff/");
    assert_eq!(m["display"], "standalone");
    let sizes: Vec<&str> = m["icons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["sizes"].as_str())
        .collect();
    assert_eq!(sizes, ["192x192", "512x512"]);
    app.api().get("/staff/sw.js").expect_status(200);
}

#[blackbox]
fn staff_add_a_webhook_and_see_its_secret_once() {
    let app = TestApp::shared();
    let owner = app.owner("staff-hooks");
    let store = app.store_open_all_day(&owner, 60, 10);
    let base = app.api().base().to_string();
    let browser = Browser::start(1280, 900);
    sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    browser.goto(&format!("{base}/staff/s/{}/webhooks", store.id));
    browser.fill(&browser.find("textbox", "URL"), "ftp://example.com/hook");
    browser.click(&browser.find("button", "Add webhook"));
    browser.find_role("alert");
    browser.fill(
        &browser.find("textbox", "URL"),
        "https://hooks.example.com/safemarket",
    );
    browser.click(&browser.find("checkbox", "booking.checked_in"));
    browser.click(&browser.find("button", "Add webhook"));
    browser.find("button", "Copy");
    browser.wait_until("the secret is shown once", |b| {
        b.page_text().contains("whsec_")
    });
    browser.find("button", "Show deliveries");
    accessible(&browser, "webhooks");
    shot(&browser, "webhooks");
    browser.goto(&format!("{base}/staff/s/{}/webhooks", store.id));
    browser.find("button", "Show deliveries");
    assert!(
        !browser.page_text().contains("whsec_"),
        "the secret is shown only once"
    );
}
