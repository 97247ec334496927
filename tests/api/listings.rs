//! The public slot listing's entity tags: `ETag` on every listing, `304 Not Modified` for a
//! current `If-None-Match`, and the object's listing cache never serving a listing that a
//! booking, a cancellation or a schedule change made stale.

use safemarket_blackbox::{all_day_schedule, blackbox, client::Resp, Store, TestApp};

fn listing(app: &TestApp, store: &Store, date: &str, if_none_match: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = if_none_match
        .map(|tag| vec![("if-none-match", tag)])
        .unwrap_or_default();
    app.api().request(
        "GET",
        &store.path(&format!("/slots?from={date}&to={date}")),
        &headers,
        None,
    )
}

fn etag(resp: &Resp) -> String {
    resp.expect_status(200);
    resp.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", resp.headers))
        .to_string()
}

fn booked(resp: &Resp, slot: &str) -> u64 {
    resp.json()["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["start"] == slot))
        .and_then(|s| s["booked"].as_u64())
        .unwrap_or_else(|| panic!("slot {slot} not in {}", resp.text))
}

#[blackbox]
fn a_current_tag_answers_304_and_a_write_changes_it() {
    let app = TestApp::shared();
    let owner = app.owner("etag-owner");
    let store = app.store_open_all_day(&owner, 60, 3);
    let slot = app.slot(&store, 2, 9);
    let date = &slot[..10];

    let first = listing(&app, &store, date, None);
    let tag = etag(&first);
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
    // Served again (from the object's cache): the same bytes and tag.
    let again = listing(&app, &store, date, None);
    assert_eq!((etag(&again), &again.text), (tag.clone(), &first.text));

    for header in [tag.clone(), format!("\"other\", W/{tag}"), "*".to_string()] {
        let not_modified = listing(&app, &store, date, Some(&header));
        assert_eq!(not_modified.status, 304, "{header}: {}", not_modified.text);
        assert!(not_modified.text.is_empty(), "{}", not_modified.text);
        assert_eq!(not_modified.header("etag"), Some(tag.as_str()));
        // A public read: CORS on the 304 too.
        assert_eq!(
            not_modified.header("access-control-allow-origin"),
            Some("*")
        );
    }
    assert_eq!(listing(&app, &store, date, Some("\"stale\"")).status, 200);

    // A booking: the tag changes, the old tag no longer matches, the count is current.
    let guest = app.guest();
    let booking = app.book(&guest, &store, &slot).created();
    let after_booking = listing(&app, &store, date, Some(&tag));
    let booked_tag = etag(&after_booking);
    assert_ne!(booked_tag, tag);
    assert_eq!(booked(&after_booking, &slot), 1);
    assert_eq!(booked(&listing(&app, &store, date, None), &slot), 1);

    // A cancellation, then a schedule change: each gives a new listing and tag.
    app.cancel(&guest, &booking).expect_status(204);
    let after_cancel = listing(&app, &store, date, Some(&booked_tag));
    let cancelled_tag = etag(&after_cancel);
    assert_ne!(cancelled_tag, booked_tag);
    assert_eq!(booked(&after_cancel, &slot), 0);

    app.set_schedule(&owner, &store, &all_day_schedule(60, 5))
        .expect_status(200);
    let after_schedule = listing(&app, &store, date, Some(&cancelled_tag));
    assert_ne!(etag(&after_schedule), cancelled_tag);
    let item = after_schedule.json()["items"][0].clone();
    assert_eq!(item["capacity"], 5, "{item}");
}

#[blackbox]
fn tags_name_the_listed_range() {
    let app = TestApp::shared();
    let owner = app.owner("etag-range-owner");
    let store = app.store_open_all_day(&owner, 60, 3);
    let day = app.slot(&store, 2, 0)[..10].to_string();
    let next = app.slot(&store, 3, 0)[..10].to_string();
    let one = etag(&listing(&app, &store, &day, None));
    let other = listing(&app, &store, &next, Some(&one));
    assert_ne!(etag(&other), one);
}
