//! The staff app (`/staff/`) in headless Chromium through WebDriver: every element is found by
//! its role and accessible name (shared/UI.md), axe-core checks each screen, and screenshots of
//! the main screens are kept under target/screenshots/.

use safemarket_blackbox::browser::{Browser, Element, FAKE_CAMERA};
use safemarket_blackbox::{blackbox, Store, TestApp};

/// The current slot's start (the store is open all day), booked for a fresh guest with `party`.
pub(crate) fn book_now(app: &TestApp, store: &Store, party: u32) -> String {
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

/// Signs in to the staff app in English (the poster test signs in this way too).
pub(crate) fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/staff/?lang=en"));
    browser.fill(&browser.find("textbox", "Email"), email);
    browser.fill(&browser.find("textbox", "Password"), password);
    browser.click(&browser.find("button", "Sign in"));
}

fn has_text(b: &Browser, e: &Element, words: &[&str]) -> bool {
    let text = b.text(e);
    words.iter().all(|w| text.contains(w))
}

/// Asserts that `text` writes its times on the 24-hour clock: at least one `HH:MM` and no
/// AM/PM, in any language.
#[track_caller]
fn on_the_24_hour_clock(text: &str) {
    let hh_mm = text
        .as_bytes()
        .windows(5)
        .any(|w| w[2] == b':' && [w[0], w[1], w[3], w[4]].iter().all(u8::is_ascii_digit));
    assert!(hh_mm, "no HH:MM time in {text:?}");
    let upper = text.to_uppercase();
    for twelve in ["AM", "PM", "A.M.", "P.M."] {
        assert!(
            !upper
                .split(|c: char| !c.is_alphanumeric() && c != '.')
                .any(|w| w == twelve),
            "a 12-hour time in {text:?}"
        );
    }
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
    browser.assert_accessible("sign in");
    browser.shot("sign-in");

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
    browser.assert_accessible("new store");
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
    browser.assert_accessible("schedule");
    browser.shot("schedule");

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
    on_the_24_hour_clock(&browser.text(&status));
    let occupancy = browser.find("region", "Occupancy");
    browser.wait_until("occupancy counts the party", |b| {
        has_text(b, &occupancy, &["2 / 10", "2 Checked in", "Green"])
    });
    browser.fill(&browser.find("textbox", "Booking code"), "ZZZZZZZZ");
    browser.click(&browser.find("button", "Check in"));
    let alert = browser.find_role("alert");
    browser.wait_until("unknown code", |b| has_text(b, &alert, &["Unknown code"]));
    browser.assert_accessible("door");
    browser.shot("door");

    // Today lists it; a new booking appears live; a no-show is marked.
    browser.click(&browser.find("link", "Today"));
    browser.find("date", "Date");
    let table = browser.find_role("table");
    browser.wait_until("today lists the checked-in booking", |b| {
        has_text(b, &table, &[&code, "Checked in"])
    });
    on_the_24_hour_clock(&browser.text(&table));
    let second = book_now(&app, &store, 1);
    browser.wait_until("the new booking appears live", |b| {
        b.page_text().contains(&second)
    });
    browser.click(&browser.find("button", "No-show"));
    browser.wait_until("no-show marked", |b| {
        b.all("button", Some("No-show")).is_empty() && b.page_text().contains("No-show")
    });
    browser.assert_accessible("today");
    browser.shot("today");

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
    // "Created" is a local date and time, not the API's UTC instant.
    let text = browser.page_text();
    assert!(
        !text.as_bytes().windows(11).any(|w| {
            w[..4].iter().all(u8::is_ascii_digit) && w[4] == b'-' && w[7] == b'-' && w[10] == b'T'
        }),
        "an RFC 3339 instant on the API keys screen: {text}"
    );
    browser.assert_accessible("api keys");

    // Phone width.
    browser.resize(360, 780);
    browser.click(&browser.find("link", "Door"));
    browser.find("textbox", "Booking code");
    browser.shot("door-phone");

    // German, remembered; `<html lang>` names it.
    browser.resize(1280, 900);
    browser.goto(&format!("{base}/staff/?lang=de"));
    browser.find("heading", "Ihre Geschäfte");
    assert_eq!(browser.html_lang(), "de");
    browser.find("combobox", "Sprache");
    browser.goto(&format!("{base}/staff/"));
    browser.find("link", "Neues Geschäft");
    browser.assert_accessible("stores (de)");
    browser.shot("stores-de");
    browser.resize(360, 780);
    browser.shot("stores-phone");

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
    browser.assert_accessible("webhooks");
    browser.shot("webhooks");
    browser.goto(&format!("{base}/staff/s/{}/webhooks", store.id));
    browser.find("button", "Show deliveries");
    assert!(
        !browser.page_text().contains("whsec_"),
        "the secret is shown only once"
    );
}

/// A `BarcodeDetector` stand-in (Chromium on Linux has none) that "sees" `code` once the
/// video shows frames of the (fake) camera, and keeps the stream it was shown in
/// `window.scannedStream`, so the test can see the camera stopped.
fn barcode_detector_seeing(code: &str) -> String {
    format!(
        "window.BarcodeDetector = class {{
            constructor(options) {{ this.formats = (options || {{}}).formats || []; }}
            static getSupportedFormats() {{ return Promise.resolve(['qr_code']); }}
            detect(video) {{
                window.scannedStream = video.srcObject;
                const frames = video.srcObject && video.readyState >= 2 && video.videoWidth > 0;
                return Promise.resolve(frames ? [{{format: 'qr_code', rawValue: {code:?}}}] : []);
            }}
        }};"
    )
}

#[blackbox]
fn staff_door_scans_a_qr_code_where_the_browser_can() {
    let app = TestApp::shared();
    let owner = app.owner("staff-scan");
    let store = app.store_open_all_day(&owner, 60, 10);
    let code = book_now(&app, &store, 3);
    let base = app.api().base().to_string();
    let browser = Browser::start_with(1280, 900, &FAKE_CAMERA);
    sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    let door = format!("{base}/staff/s/{}/door", store.id);

    // A camera but no BarcodeDetector: no scan button.
    browser.goto(&door);
    browser.find("textbox", "Booking code");
    browser.find("region", "Occupancy");
    assert_eq!(
        browser.exec("return 'BarcodeDetector' in window;", serde_json::json!([])),
        serde_json::json!(false),
        "this Chromium has a BarcodeDetector: the absent case needs a stand-in removing it"
    );
    assert!(
        browser.all("button", Some("Scan QR code")).is_empty(),
        "a scan button without BarcodeDetector"
    );

    // With one, the button scans the code from the camera and checks the booking in.
    browser.before_page_scripts(&barcode_detector_seeing(&code));
    browser.reload();
    browser.click(&browser.find("button", "Scan QR code"));
    let status = browser.find_role("status");
    browser.wait_until("the scanned code is checked in", |b| {
        has_text(b, &status, &["Checked in", "3 People", &code])
    });
    browser.wait_until("the camera is stopped after the scan", |b| {
        b.exec(
            "const s = window.scannedStream; return !!s && s.getTracks().length > 0 && s.getTracks().every(t => t.readyState === 'ended');",
            serde_json::json!([]),
        ) == serde_json::json!(true)
    });
    let booking = app
        .client(&owner)
        .get(&store.path(&format!("/bookings/by-code/{code}")));
    booking.expect_status(200);
    let booking = booking.json();
    assert_eq!(booking["status"], "checked_in", "{booking}");
    browser.assert_accessible("door with scanner");
    browser.shot("door-scan");
}

#[blackbox]
fn staff_add_a_member_by_email_and_remove_them() {
    let app = TestApp::shared();
    let owner = app.owner("staff-owner");
    let helper = app.user("staff-helper");
    let store = app.store_open_all_day(&owner, 60, 10);
    let base = app.api().base().to_string();
    let members = |app: &TestApp| -> Vec<serde_json::Value> {
        let resp = app.client(&owner).get(&store.path("/members"));
        resp.expect_status(200);
        resp.json()["items"].as_array().cloned().unwrap_or_default()
    };
    let browser = Browser::start(1280, 900);
    sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    browser.goto(&format!("{base}/staff/s/{}/staff", store.id));
    browser.find("heading", "Members");
    browser.wait_until("the owner is listed", |b| {
        b.page_text().contains(&format!("{} (Owner)", owner.email))
    });
    assert!(
        browser.all("button", Some("Remove")).is_empty(),
        "the owner cannot be removed"
    );

    browser.fill(&browser.find("textbox", "Email"), &helper.email);
    browser.click(&browser.find("button", "Add staff"));
    browser.wait_until("the new member is listed with role", |b| {
        b.page_text().contains(&format!("{} (Staff)", helper.email))
    });
    let added = members(&app);
    assert!(
        added
            .iter()
            .any(|m| m["user_id"] == helper.id.as_str() && m["role"] == "staff"),
        "{added:?}"
    );
    browser.assert_accessible("staff");
    browser.shot("staff");

    browser.click(&browser.find("button", "Remove"));
    browser.wait_until("the member is gone", |b| {
        !b.page_text().contains(&helper.email)
    });
    let left = members(&app);
    assert!(
        !left.iter().any(|m| m["user_id"] == helper.id.as_str()),
        "{left:?}"
    );
    assert!(
        browser.all("alert", None).is_empty(),
        "{}",
        browser.page_text()
    );
}
