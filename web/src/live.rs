//! The store's `/live` WebSocket: calls back with every message, reconnects after a drop,
//! closes when the screen that opened it goes away.

use leptos::prelude::*;
use safemarket_api::live::LiveMessage;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Watches `store_id` while the calling component lives.
pub fn watch(store_id: String, on_message: impl Fn(LiveMessage) + 'static) {
    let socket = StoredValue::new_local(None::<web_sys::WebSocket>);
    let alive = StoredValue::new_local(true);
    let handler = std::rc::Rc::new(on_message);
    connect(store_id, handler, socket, alive);
    on_cleanup(move || {
        alive.set_value(false);
        socket.with_value(|s| {
            if let Some(s) = s {
                let _ = s.close();
            }
        });
    });
}

type Handler = std::rc::Rc<dyn Fn(LiveMessage)>;

fn connect(
    store_id: String,
    handler: Handler,
    socket: StoredValue<Option<web_sys::WebSocket>, LocalStorage>,
    alive: StoredValue<bool, LocalStorage>,
) {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    let url = format!("{scheme}://{host}/api/v1/stores/{store_id}/live");
    let Ok(ws) = web_sys::WebSocket::new(&url) else {
        return;
    };
    let on_msg = {
        let handler = handler.clone();
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(text) = e.data().as_string() {
                if let Ok(message) = serde_json::from_str::<LiveMessage>(&text) {
                    handler(message);
                }
            }
        })
    };
    ws.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
    on_msg.forget();
    let on_close = Closure::<dyn Fn()>::new(move || {
        if alive.get_value() {
            let (id, h) = (store_id.clone(), handler.clone());
            set_timeout(
                move || {
                    if alive.get_value() {
                        connect(id, h, socket, alive);
                    }
                },
                std::time::Duration::from_secs(3),
            );
        }
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    on_close.forget();
    socket.set_value(Some(ws));
}
