//! What SafeMarket's client-side-rendered browser apps share (the staff app at `/staff/`, the
//! booking page at `/book/`): calls to the public API with a session ([`http`]), a store's live
//! feed ([`live`]) and the "Occupancy" element it drives ([`occupancy`]), dates and times through the browser's `Intl` ([`time`]), the choice of
//! language and the lookup of an app's strings ([`i18n`]), and failures shown in words
//! ([`problems`]). Each app keeps its own screens and string catalogue.

pub mod http;
pub mod i18n;
pub mod live;
pub mod occupancy;
pub mod problems;
pub mod time;
