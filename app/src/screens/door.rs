//! "Door": check a booking code in (typed or scanned) and the live occupancy of the slot.

use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::{BookingView, CheckInRequest};
use safemarket_api::stores::Store;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::http::Failure;
use crate::i18n::{lang, t};
use safemarket_web::occupancy::OccupancyView;

use crate::{http, time};

/// The words of a refused check-in: what it means at the door, then the API's detail.
fn refusal(f: &Failure) -> String {
    let detail = f
        .problem
        .as_ref()
        .map(|p| p.detail.clone())
        .unwrap_or_else(|| f.message.clone());
    let head = match f.slug() {
        "not-found" => t("unknown_code"),
        "outside-check-in-window" => t("not_in_slot"),
        "invalid-transition" if detail.contains("checked_in") || detail.contains("checked in") => {
            t("already_checked_in")
        }
        "invalid-transition" => t("not_checkable"),
        _ => return f.message.clone(),
    };
    format!("{head}. {detail}")
}

/// Whether this browser can scan: `BarcodeDetector` and a camera.
async fn can_scan() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    if !Reflect::has(&window, &JsValue::from_str("BarcodeDetector")).unwrap_or(false) {
        return false;
    }
    let Ok(devices) = window.navigator().media_devices() else {
        return false;
    };
    let Ok(list) = devices.enumerate_devices() else {
        return false;
    };
    match JsFuture::from(list).await {
        Ok(list) => Array::from(&list).iter().any(|d| {
            Reflect::get(&d, &JsValue::from_str("kind"))
                .ok()
                .and_then(|k| k.as_string())
                .as_deref()
                == Some("videoinput")
        }),
        Err(_) => false,
    }
}

/// Reads one QR code from the camera, then stops the camera, whatever ended the scan (a code,
/// "Stop scanning", leaving the screen, a detector that failed).
async fn scan(video: web_sys::HtmlVideoElement, scanning: RwSignal<bool>) -> Option<String> {
    let window = web_sys::window()?;
    let constraints = web_sys::MediaStreamConstraints::new();
    let video_opts = Object::new();
    let _ = Reflect::set(&video_opts, &"facingMode".into(), &"environment".into());
    constraints.set_video(&video_opts);
    let stream = JsFuture::from(
        window
            .navigator()
            .media_devices()
            .ok()?
            .get_user_media_with_constraints(&constraints)
            .ok()?,
    )
    .await
    .ok()?;
    let stream: web_sys::MediaStream = stream.dyn_into().ok()?;
    video.set_src_object(Some(&stream));
    let _ = video.play();
    let found = detect(&window, &video, scanning).await;
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
    video.set_src_object(None);
    found
}

/// Asks a `BarcodeDetector` for a QR code in the video's frames, four times a second, while
/// `scanning` holds (and its screen is still there).
async fn detect(
    window: &web_sys::Window,
    video: &web_sys::HtmlVideoElement,
    scanning: RwSignal<bool>,
) -> Option<String> {
    let ctor: Function = Reflect::get(window, &"BarcodeDetector".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let opts = Object::new();
    let _ = Reflect::set(&opts, &"formats".into(), &Array::of1(&"qr_code".into()));
    let detector = Reflect::construct(&ctor, &Array::of1(&opts)).ok()?;
    let detect: Function = Reflect::get(&detector, &"detect".into())
        .ok()?
        .dyn_into()
        .ok()?;
    while scanning.try_get_untracked().unwrap_or(false) {
        if let Ok(p) = detect.call1(&detector, video) {
            if let Ok(codes) = JsFuture::from(Promise::from(p)).await {
                let found = Array::from(&codes).iter().find_map(|c| {
                    Reflect::get(&c, &"rawValue".into())
                        .ok()
                        .and_then(|v| v.as_string())
                });
                if found.is_some() {
                    return found;
                }
            }
        }
        let wait = Promise::new(&mut |resolve, _| {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 250);
        });
        let _ = JsFuture::from(wait).await;
    }
    None
}

/// "Door": "Booking code", "Check in", the result, "Occupancy", "Scan QR code".
#[component]
pub fn Door(store: Store) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<BookingView, Failure>>);
    let scanner = RwSignal::new(false);
    let scanning = RwSignal::new(false);
    let video = NodeRef::<leptos::html::Video>::new();
    spawn_local(async move { scanner.set(can_scan().await) });
    let id = store.id.clone();
    let zone = store.timezone.clone();
    let check_in = move |raw: String| {
        let id = id.clone();
        let l = lang().get_untracked();
        spawn_local(async move {
            let body = CheckInRequest {
                code: raw.trim().to_uppercase(),
            };
            let answer = http::call::<BookingView, _>(
                l,
                "POST",
                &format!("/api/v1/stores/{id}/check-ins"),
                Some(&body),
            )
            .await;
            if answer.is_ok() {
                code.set(String::new());
            }
            result.set(Some(answer));
        });
    };
    let submit = {
        let check_in = check_in.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            check_in(code.get_untracked());
        }
    };
    let start_scan = move |_| {
        let Some(v) = video.get() else { return };
        scanning.set(true);
        let check_in = check_in.clone();
        spawn_local(async move {
            let found = scan(v, scanning).await;
            if scanning.try_set(false).is_some() {
                // The screen is gone.
                return;
            }
            if let Some(found) = found {
                code.set(found.clone());
                check_in(found);
            }
        });
    };
    view! {
        <h2>{move || t("door")}</h2>
        <div class="door">
            <form on:submit=submit class="card">
                <label>
                    {move || t("booking_code")}
                    <input type="text" class="code" autocomplete="off" autocapitalize="characters"
                        spellcheck="false" required
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="big-button">{move || t("check_in")}</button>
                <Show when=move || scanner.get()>
                    <button type="button" on:click=start_scan.clone() disabled=move || scanning.get()>{move || t("scan_qr")}</button>
                    <button type="button" class="secondary" hidden=move || !scanning.get()
                        on:click=move |_| scanning.set(false)>{move || t("stop_scan")}</button>
                </Show>
                <video node_ref=video class="scanner" hidden=move || !scanning.get() muted=true playsinline=true></video>
            </form>
            {move || {
                let zone = zone.clone();
                result.get().map(|r| match r {
                    Ok(b) => {
                        let at = time::local_time(&b.slot_start, &zone, lang().get().tag());
                        view! {
                            <div role="status" class="result ok">
                                <p class="big">{t("checked_in")}</p>
                                <p>{format!("{} {}", b.party_size, t("people"))}" · "{t("slot")}" "{at}" · "{b.code}</p>
                            </div>
                        }.into_any()
                    }
                    Err(f) => view! { <p role="alert" class="result bad">{refusal(&f)}</p> }.into_any(),
                })
            }}
            <OccupancyView store_id=store.id.clone() />
        </div>
    }
}
