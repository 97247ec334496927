//! SafeMarket's booking page for shoppers, served at `/book/{store_id}` (README "Booking
//! page"; the accessible names are shared/UI.md's "Shopper booking page"): the store, its live
//! occupancy, a day's times, booking as a guest of this browser, the booking's code, QR code
//! and calendar file, the waiting list of a full time, and this browser's bookings.

mod account;
mod day;
mod guest;
mod i18n;
mod mine;
mod result;
mod waitlist;

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::auth::User;
use safemarket_api::bookings::BookingView;
use safemarket_api::live::SlotItem;
use safemarket_api::stores::Store;
use safemarket_api::waitlist::WaitlistEntry;
use safemarket_web::http::{self, Failure};
use safemarket_web::i18n::LanguageSelect;
use safemarket_web::occupancy::OccupancyView;
use safemarket_web::problems::Problems;
use wasm_bindgen::prelude::*;

use crate::i18n::{fill, lang, t};

/// What the page shows, shared by its parts.
#[derive(Clone, Copy)]
pub struct Book {
    /// The store, once loaded.
    pub store: RwSignal<Option<Store>>,
    /// The session is there (the guest's, or a signed-in user's).
    pub ready: RwSignal<bool>,
    /// The signed-in user; `None` while booking as this browser's guest.
    pub user: RwSignal<Option<User>>,
    /// The day shown, `YYYY-MM-DD` in the store's zone.
    pub date: RwSignal<String>,
    /// That day's slots.
    pub slots: RwSignal<Vec<SlotItem>>,
    /// The start of the slot chosen.
    pub chosen: RwSignal<Option<String>>,
    /// People to book for.
    pub people: RwSignal<u32>,
    /// The booking just made (or moved), shown with its code.
    pub result: RwSignal<Option<Moved>>,
    /// What the last action did, when there is no booking to show (a cancellation).
    pub notice: RwSignal<Option<String>>,
    /// This browser's upcoming bookings at this store.
    pub mine: RwSignal<Vec<BookingView>>,
    /// Ids cancelled here (the index behind "My bookings" may trail a cancellation).
    pub gone: RwSignal<Vec<String>>,
    /// The booking being moved to another time.
    pub moving: RwSignal<Option<BookingView>>,
    /// The waiting-list entry of this browser, while it waits or holds an offer.
    pub entry: RwSignal<Option<WaitlistEntry>>,
    /// The last failure.
    pub problems: Problems,
}

/// A booking shown as the result, and whether it was moved rather than made.
#[derive(Clone, PartialEq)]
pub struct Moved {
    /// The booking.
    pub booking: BookingView,
    /// It was rescheduled.
    pub moved: bool,
}

impl Book {
    fn new() -> Self {
        Book {
            store: RwSignal::new(None),
            ready: RwSignal::new(false),
            user: RwSignal::new(None),
            date: RwSignal::new(String::new()),
            slots: RwSignal::new(Vec::new()),
            chosen: RwSignal::new(None),
            people: RwSignal::new(1),
            result: RwSignal::new(None),
            notice: RwSignal::new(None),
            mine: RwSignal::new(Vec::new()),
            gone: RwSignal::new(Vec::new()),
            moving: RwSignal::new(None),
            entry: RwSignal::new(None),
            problems: Problems::new(),
        }
    }

    /// The store's id (empty before it is loaded).
    pub fn store_id(self) -> String {
        self.store
            .with_untracked(|s| s.as_ref().map(|s| s.id.clone()))
            .unwrap_or_default()
    }

    /// The store's zone (UTC before it is loaded).
    pub fn zone(self) -> String {
        self.store
            .with_untracked(|s| s.as_ref().map(|s| s.timezone.clone()))
            .unwrap_or_else(|| "UTC".into())
    }

    /// Whether there is a guest session, signing in first when start-up has not (yet): an
    /// action may come before the session of start-up.
    pub async fn session(self) -> bool {
        if self.ready.get_untracked() {
            return true;
        }
        match guest::sign_in(lang().get_untracked()).await {
            Ok(()) => {
                self.ready.set(true);
                true
            }
            Err(f) => {
                self.problems.show(f);
                false
            }
        }
    }

    /// A failure of our own, in words.
    pub fn say(self, key: &'static str) {
        self.problems.show(Failure {
            status: 0,
            problem: None,
            message: t(key).to_string(),
        });
    }

    /// Shows `booking` as the result and keeps it among this browser's bookings.
    pub fn show_booking(self, booking: BookingView, moved: bool) {
        self.problems.clear();
        self.notice.set(None);
        self.mine.update(|list| {
            list.retain(|b| b.id != booking.id);
            list.push(booking.clone());
            list.sort_by(|a, b| a.slot_start.cmp(&b.slot_start));
        });
        self.result.set(Some(Moved { booking, moved }));
        // On a phone the day's times fill the screen: bring the code into view once drawn.
        set_timeout(
            || {
                if let Some(e) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("result-heading"))
                {
                    e.scroll_into_view();
                }
            },
            std::time::Duration::from_millis(50),
        );
    }
}

/// "1 person" / "{n} people".
pub fn people_words(n: u32) -> String {
    if n == 1 {
        t("person").to_string()
    } else {
        fill("persons", &[("n", &n.to_string())])
    }
}

/// The store id of the page's path `/book/{store_id}` (empty when missing).
fn path_store_id() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
        .trim_start_matches("/book")
        .trim_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn category_word(category: &str) -> &'static str {
    match category {
        "supermarket" => t("supermarket"),
        "bakery" => t("bakery"),
        "pharmacy" => t("pharmacy"),
        _ => t("other"),
    }
}

#[component]
fn StorePage(book: Book) -> impl IntoView {
    Effect::new(move |_| {
        let name = book.store.with(|s| s.as_ref().map(|s| s.name.clone()));
        if let (Some(name), Some(d)) = (name, web_sys::window().and_then(|w| w.document())) {
            d.set_title(&format!("{name} · {}", t("brand")));
        }
    });
    // The store is set once; the language is read in closures of their own, so that switching
    // it rewords the page without building its parts (and their live feed) anew.
    view! {
        {move || book.store.get().map(|s| {
            let open = !s.closed;
            let category = s.category.clone();
            view! {
                <h1>{s.name.clone()}</h1>
                <p class="where">
                    <span class="category">{move || category_word(&category)}</span>
                    " · "
                    <span>{s.address.clone()}</span>
                </p>
                <OccupancyView store_id=s.id.clone() />
                {if open {
                    view! {
                        <day::Day book=book />
                        <result::Result book=book />
                        <waitlist::Waiting book=book />
                        <mine::MyBookings book=book />
                        <account::Account book=book />
                    }.into_any()
                } else {
                    view! { <p role="alert" class="alert">{move || t("store_closed")}</p> }.into_any()
                }}
            }
        })}
    }
}

#[component]
fn Page() -> impl IntoView {
    let book = Book::new();
    let loaded = RwSignal::new(false);
    let id = path_store_id();
    spawn_local(async move {
        let l = lang().get_untracked();
        if id.is_empty() || id.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            book.say("no_store");
        } else {
            match http::get::<Store>(l, &format!("/api/v1/stores/{id}")).await {
                Ok(store) => book.store.set(Some(store)),
                Err(f) if f.status == 404 => {
                    book.problems.show(Failure {
                        message: format!("{} ({})", t("no_store"), f.message),
                        ..f
                    });
                }
                Err(f) => book.problems.show(f),
            }
        }
        loaded.set(true);
        if book.store.with_untracked(Option::is_some) {
            match guest::sign_in(l).await {
                Ok(()) => {
                    // A reload keeps the tab's session, which may be a signed-in user's.
                    account::who(book).await;
                    book.ready.set(true);
                }
                Err(f) => book.problems.show(f),
            }
        }
    });
    view! {
        <header class="bar">
            <span class="brand">{move || t("brand")}</span>
            <LanguageSelect />
        </header>
        <main id="main">
            {move || (!loaded.get()).then(|| view! { <p>{t("loading")}</p> })}
            {move || book.store.with(Option::is_none).then(|| book.problems.view())}
            <StorePage book=book />
        </main>
    }
}

/// Mounts the page.
#[wasm_bindgen(start)]
pub fn start() {
    http::set_refresh_key("safemarket.book.refresh");
    let lang = i18n::start(i18n::STRINGS);
    leptos::mount::mount_to_body(move || {
        i18n::keep_remembered(lang);
        view! { <Page /> }
    });
}
