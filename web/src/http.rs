//! Calls to the Worker's public API (same origin) with the session's access token, and the
//! session itself: the access token in memory only, the refresh token in `sessionStorage`
//! (README "Staff app" says why; each app under a key of its own, [`set_refresh_key`]),
//! refreshed a minute before the access token expires; and whether the Worker is reachable.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use safemarket_api::auth::{RefreshRequest, TokenPair};
use safemarket_api::Problem;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{tr, Lang};

/// Who hears whether the Worker answered ([`on_reachability`]).
type Listener = Box<dyn Fn(bool)>;

thread_local! {
    static REFRESH_KEY: Cell<&'static str> = const { Cell::new("safemarket.refresh") };
    static ACCESS: RefCell<Option<String>> = const { RefCell::new(None) };
    static REFRESHING: Cell<bool> = const { Cell::new(false) };
    static GENERATION: Cell<u32> = const { Cell::new(0) };
    static REACHABILITY: RefCell<Option<Listener>> = const { RefCell::new(None) };
}

/// Calls `f` after every request with whether the Worker answered: `navigator.onLine` stays
/// `true` when only the server is out of reach (a shop's router without uplink).
pub fn on_reachability(f: impl Fn(bool) + 'static) {
    REACHABILITY.with(|r| *r.borrow_mut() = Some(Box::new(f)));
}

fn reached(answered: bool) {
    REACHABILITY.with(|r| {
        if let Some(f) = r.borrow().as_ref() {
            f(answered);
        }
    });
}

/// Whether the Worker answers at all (`HEAD /api/health`, public and cached there); reported
/// to [`on_reachability`] like every request.
pub async fn reachable() -> bool {
    raw::<()>("HEAD", "/api/health", None, None).await.is_ok()
}

/// When to refresh a token pair that expires in `expires_in` seconds: a minute before, or at
/// three quarters of a lifetime shorter than two minutes (the test server's short tokens).
fn refresh_after(expires_in: u64) -> u64 {
    if expires_in > 120 {
        expires_in - 60
    } else {
        (expires_in * 3 / 4).max(1)
    }
}

/// A failed request: the problem document when the API sent one, else words of our own.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// HTTP status (0: no answer).
    pub status: u16,
    /// The problem document, when there was one.
    pub problem: Option<Problem>,
    /// What to show.
    pub message: String,
}

impl Failure {
    fn network(lang: Lang) -> Self {
        Failure {
            status: 0,
            problem: None,
            message: tr(lang, "network_failed").to_string(),
        }
    }

    /// The problem's slug (`not-found`), empty without a problem.
    pub fn slug(&self) -> &str {
        self.problem.as_ref().map(|p| p.slug()).unwrap_or_default()
    }
}

/// The words of a problem: `title: detail` (the detail alone repeats nothing).
fn words(problem: &Problem) -> String {
    if problem.detail.is_empty() {
        problem.title.clone()
    } else {
        format!("{}: {}", problem.title, problem.detail)
    }
}

/// Names the `sessionStorage` key of this app's refresh token (once, at start).
pub fn set_refresh_key(key: &'static str) {
    REFRESH_KEY.with(|k| k.set(key));
}

fn refresh_key() -> &'static str {
    REFRESH_KEY.with(Cell::get)
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Whether a refresh token is kept (a session may be resumed).
pub fn has_session() -> bool {
    session_storage()
        .and_then(|s| s.get_item(refresh_key()).ok().flatten())
        .is_some()
}

/// Keeps a new token pair and schedules its refresh.
pub fn keep(pair: &TokenPair) {
    ACCESS.with(|a| *a.borrow_mut() = Some(pair.access_token.clone()));
    if let Some(s) = session_storage() {
        let _ = s.set_item(refresh_key(), &pair.refresh_token);
    }
    let generation = GENERATION.with(|g| {
        g.set(g.get().wrapping_add(1));
        g.get()
    });
    let lead = refresh_after(pair.expires_in);
    leptos::prelude::set_timeout(
        move || {
            if GENERATION.with(Cell::get) == generation {
                wasm_bindgen_futures::spawn_local(async {
                    let _ = refresh().await;
                });
            }
        },
        Duration::from_secs(lead),
    );
}

/// Forgets the session locally.
pub fn forget() {
    ACCESS.with(|a| *a.borrow_mut() = None);
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    if let Some(s) = session_storage() {
        let _ = s.remove_item(refresh_key());
    }
}

/// Trades the kept refresh token for a new pair (one at a time: refresh tokens rotate, and a
/// reused one revokes the session). `false` when there is no session any more.
pub async fn refresh() -> bool {
    if REFRESHING.with(Cell::get) {
        while REFRESHING.with(Cell::get) {
            sleep(50).await;
        }
        return ACCESS.with(|a| a.borrow().is_some());
    }
    let Some(token) = session_storage().and_then(|s| s.get_item(refresh_key()).ok().flatten())
    else {
        return false;
    };
    REFRESHING.with(|r| r.set(true));
    let body = RefreshRequest {
        refresh_token: token,
    };
    let answer = raw("POST", "/api/v1/auth/refresh", Some(&body), None).await;
    let ok = match answer {
        Ok((200, text)) => match serde_json::from_str::<TokenPair>(&text) {
            Ok(pair) => {
                keep(&pair);
                true
            }
            Err(_) => false,
        },
        Ok(_) => {
            forget();
            false
        }
        Err(()) => false,
    };
    REFRESHING.with(|r| r.set(false));
    ok
}

/// Waits `ms` milliseconds (a browser timer).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// One request: status and body text, `Err` when nothing came back.
async fn raw<B: Serialize>(
    method: &str,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
) -> Result<(u16, String), ()> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| ())?;
    headers.set("accept", "application/json").map_err(|_| ())?;
    if let Some(token) = bearer {
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(|_| ())?;
    }
    if let Some(body) = body {
        let text = serde_json::to_string(body).map_err(|_| ())?;
        headers
            .set("content-type", "application/json")
            .map_err(|_| ())?;
        init.set_body(&text.into());
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or(())?;
    let fetched = JsFuture::from(window.fetch_with_str_and_init(path, &init)).await;
    reached(fetched.is_ok());
    let resp = fetched.map_err(|_| ())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| ())?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| ())?)
        .await
        .map_err(|_| ())?
        .as_string()
        .unwrap_or_default();
    Ok((status, text))
}

/// Sends one request as the signed-in user (once more after a refresh on 401): the status and
/// body text of a 2xx, else the failure in words.
async fn send<B: Serialize>(
    lang: Lang,
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<(u16, String), Failure> {
    let mut retried = false;
    loop {
        let token = ACCESS.with(|a| a.borrow().clone());
        let (status, text) = raw(method, path, body, token.as_deref())
            .await
            .map_err(|()| Failure::network(lang))?;
        if status == 401 && !retried && has_session() {
            retried = true;
            if refresh().await {
                continue;
            }
        }
        if (200..300).contains(&status) {
            return Ok((status, text));
        }
        let problem = serde_json::from_str::<Problem>(&text).ok();
        let message = match &problem {
            Some(p) => words(p),
            None => format!("{} (HTTP {status})", tr(lang, "request_failed")),
        };
        return Err(Failure {
            status,
            problem,
            message,
        });
    }
}

/// Calls the API as the signed-in user and decodes the answer; `T = ()` for 204s.
pub async fn call<T: DeserializeOwned, B: Serialize>(
    lang: Lang,
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, Failure> {
    let (status, text) = send(lang, method, path, body).await?;
    let text = if text.trim().is_empty() {
        "null"
    } else {
        &text
    };
    serde_json::from_str(text).map_err(|e| Failure {
        status,
        problem: None,
        message: format!("{}: {e}", tr(lang, "request_failed")),
    })
}

/// The body of `GET path` as text (an SVG image, say), as the signed-in user.
pub async fn text(lang: Lang, path: &str) -> Result<String, Failure> {
    send::<()>(lang, "GET", path, None).await.map(|(_, t)| t)
}

/// [`call`] without a body.
pub async fn get<T: DeserializeOwned>(lang: Lang, path: &str) -> Result<T, Failure> {
    call::<T, ()>(lang, "GET", path, None).await
}
