//! "Schedule": slot length, capacity, horizon, per-person limit, weekly opening hours (several
//! intervals a day) and exceptions by date; the API's 422 `errors` are shown at the field they
//! name (`weekly[2].open`), and after saving, the bookings the new schedule no longer covers.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::BookingView;
use safemarket_api::schedule::{ExceptionInput, SavedSchedule, ScheduleInput, WeeklyInput};
use safemarket_api::stores::Store;

use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, time};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One editable interval; `day` is a weekday (weekly) or a date (exceptions).
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: u32,
    day: String,
    open: String,
    close: String,
    closed: bool,
}

#[derive(Clone, Copy)]
struct Form {
    slot: RwSignal<String>,
    capacity: RwSignal<String>,
    horizon: RwSignal<String>,
    per_person: RwSignal<String>,
    weekly: RwSignal<Vec<Row>>,
    exceptions: RwSignal<Vec<Row>>,
    next: RwSignal<u32>,
    problems: Problems,
}

impl Form {
    fn key(self) -> u32 {
        self.next.update(|n| *n += 1);
        self.next.get_untracked()
    }

    fn fill(self, s: ScheduleInput) {
        let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        self.slot.set(num(s.slot_minutes));
        self.capacity.set(num(s.capacity));
        self.horizon.set(num(s.horizon_days));
        self.per_person.set(num(s.max_active_bookings_per_user));
        let weekly = s.weekly.unwrap_or_default().into_iter().map(|w| Row {
            key: self.key(),
            day: w.day.unwrap_or_default(),
            open: w.open.unwrap_or_default(),
            close: w.close.unwrap_or_default(),
            closed: false,
        });
        self.weekly.set(weekly.collect());
        let exceptions = s.exceptions.unwrap_or_default().into_iter().map(|e| Row {
            key: self.key(),
            day: e.date.unwrap_or_default(),
            open: e.open.unwrap_or_default(),
            close: e.close.unwrap_or_default(),
            closed: e.closed.unwrap_or(false),
        });
        self.exceptions.set(exceptions.collect());
    }

    /// The body to send; numbers that do not parse go as text so the API names the field.
    fn body(self) -> serde_json::Value {
        let num = |s: RwSignal<String>| {
            let raw = s.get_untracked();
            raw.trim()
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::String(raw))
        };
        let weekly: Vec<WeeklyInput> = self
            .weekly
            .get_untracked()
            .into_iter()
            .map(|r| WeeklyInput {
                day: Some(r.day),
                open: Some(r.open),
                close: Some(r.close),
            })
            .collect();
        let exceptions: Vec<ExceptionInput> = self
            .exceptions
            .get_untracked()
            .into_iter()
            .map(|r| ExceptionInput {
                date: Some(r.day),
                closed: r.closed.then_some(true),
                open: (!r.closed).then_some(r.open),
                close: (!r.closed).then_some(r.close),
            })
            .collect();
        serde_json::json!({
            "slot_minutes": num(self.slot),
            "capacity": num(self.capacity),
            "horizon_days": num(self.horizon),
            "max_active_bookings_per_user": num(self.per_person),
            "weekly": weekly,
            "exceptions": exceptions,
        })
    }

    fn error(self, field: String) -> impl Fn() -> Option<String> + Clone + Send + Sync + 'static {
        self.problems.field(field)
    }
}

fn number(
    form: Form,
    key: &'static str,
    field: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    let note = format!("{field}-error");
    view! {
        <label>
            {move || t(key)}
            <input type="number" inputmode="numeric" aria-describedby=note.clone()
                aria-invalid={let invalid = form.problems.field(field); move || invalid().map(|_| "true")}
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
        {super::field_note(note, form.problems.field(field))}
    }
}

fn time_input(
    label: &'static str,
    value: String,
    error: impl Fn() -> Option<String> + Clone + Send + Sync + 'static,
    note: String,
    set: impl Fn(String) + 'static,
) -> impl IntoView {
    let invalid = error.clone();
    view! {
        <label>
            {move || t(label)}
            <input type="text" inputmode="numeric" placeholder="HH:MM" pattern="[0-2][0-9]:[0-5][0-9]" size="5" value=value aria-describedby=note.clone()
                aria-invalid=move || invalid().map(|_| "true")
                on:change=move |ev| set(event_target_value(&ev)) />
        </label>
        {super::field_note(note, error)}
    }
}

fn edit(list: RwSignal<Vec<Row>>, key: u32, f: impl Fn(&mut Row)) {
    list.update(|rows| {
        if let Some(r) = rows.iter_mut().find(|r| r.key == key) {
            f(r);
        }
    });
}

/// "Schedule" of a store.
#[component]
pub fn ScheduleEditor(store: Store) -> impl IntoView {
    let form = Form {
        slot: RwSignal::new("30".into()),
        capacity: RwSignal::new("10".into()),
        horizon: RwSignal::new("14".into()),
        per_person: RwSignal::new("3".into()),
        weekly: RwSignal::new(Vec::new()),
        exceptions: RwSignal::new(Vec::new()),
        next: RwSignal::new(0),
        problems: Problems::new(),
    };
    let saved = RwSignal::new(None::<Vec<BookingView>>);
    let l = lang().get_untracked();
    let id = store.id.clone();
    {
        let id = id.clone();
        spawn_local(async move {
            if let Ok(s) =
                http::get::<ScheduleInput>(l, &format!("/api/v1/stores/{id}/schedule")).await
            {
                form.fill(s);
            }
        });
    }
    let zone = store.timezone.clone();
    let kept_zone = store.timezone.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (id, l, body) = (id.clone(), lang().get_untracked(), form.body());
        spawn_local(async move {
            let path = format!("/api/v1/stores/{id}/schedule");
            match http::call::<SavedSchedule, _>(l, "PUT", &path, Some(&body)).await {
                Ok(s) => {
                    form.problems.clear();
                    saved.set(Some(s.affected_bookings));
                    form.fill(s.schedule);
                }
                Err(f) => {
                    saved.set(None);
                    form.problems.show(f);
                }
            }
        });
    };
    let day_rows = move |day: &'static str| {
        view! {
            <fieldset class="day">
                <legend>{move || t(day)}</legend>
                <For
                    each=move || {
                        form.weekly.get().into_iter().enumerate().filter(|(_, r)| r.day == day).collect::<Vec<_>>()
                    }
                    key=|item: &(usize, Row)| (item.0, item.1.key)
                    children=move |item: (usize, Row)| {
                        let (i, r) = item;
                        let key = r.key;
                        view! {
                            <div class="interval">
                                {time_input("open", r.open.clone(), form.error(format!("weekly[{i}].open")), format!("w{key}-open"),
                                    move |v| edit(form.weekly, key, |r| r.open = v.clone()))}
                                {time_input("close", r.close.clone(), form.error(format!("weekly[{i}].close")), format!("w{key}-close"),
                                    move |v| edit(form.weekly, key, |r| r.close = v.clone()))}
                                <button type="button" class="secondary"
                                    on:click=move |_| form.weekly.update(|rows| rows.retain(|r| r.key != key))>
                                    {move || t("remove")}
                                </button>
                            </div>
                        }
                    }
                />
                <button type="button" class="secondary" on:click=move |_| {
                    let key = form.key();
                    form.weekly.update(|rows| rows.push(Row { key, day: day.into(), open: "09:00".into(), close: "18:00".into(), closed: false }));
                }>{move || t("add_interval")}</button>
            </fieldset>
        }
    };
    view! {
        <h2>{move || t("schedule")}</h2>
        <form on:submit=submit class="card schedule">
            {number(form, "slot_minutes", "slot_minutes", form.slot)}
            {number(form, "capacity", "capacity", form.capacity)}
            {number(form, "horizon_days", "horizon_days", form.horizon)}
            {number(form, "per_person", "max_active_bookings_per_user", form.per_person)}
            {super::field_note("weekly-error".into(), form.problems.field("weekly"))}
            {DAYS.into_iter().map(day_rows).collect_view()}
            <fieldset class="day">
                <legend>{move || t("exceptions")}</legend>
                <For
                    each=move || { form.exceptions.get().into_iter().enumerate().collect::<Vec<_>>() }
                    key=|item: &(usize, Row)| (item.0, item.1.key)
                    children=move |item: (usize, Row)| {
                        let (i, r) = item;
                        let key = r.key;
                        let closed = r.closed;
                        let date_note = format!("x{key}-date");
                        let date_error = form.error(format!("exceptions[{i}].date"));
                        view! {
                            <div class="interval">
                                <label>
                                    {move || t("date")}
                                    <input type="date" value=r.day.clone() aria-describedby=date_note.clone()
                                        on:change=move |ev| { let v = event_target_value(&ev); edit(form.exceptions, key, |r| r.day = v.clone()) } />
                                </label>
                                {super::field_note(date_note, date_error)}
                                <label class="check">
                                    <input type="checkbox" checked=closed
                                        on:change=move |ev| { let c = event_target_checked(&ev); edit(form.exceptions, key, |r| r.closed = c) } />
                                    {move || t("closed_all_day")}
                                </label>
                                {time_input("open", r.open.clone(), form.error(format!("exceptions[{i}].open")), format!("x{key}-open"),
                                    move |v| edit(form.exceptions, key, |r| r.open = v.clone()))}
                                {time_input("close", r.close.clone(), form.error(format!("exceptions[{i}].close")), format!("x{key}-close"),
                                    move |v| edit(form.exceptions, key, |r| r.close = v.clone()))}
                                <button type="button" class="secondary"
                                    on:click=move |_| form.exceptions.update(|rows| rows.retain(|r| r.key != key))>
                                    {move || t("remove")}
                                </button>
                            </div>
                        }
                    }
                />
                <button type="button" class="secondary" on:click=move |_| {
                    let key = form.key();
                    let day = time::today_in(&zone);
                    form.exceptions.update(|rows| rows.push(Row { key, day, open: "09:00".into(), close: "13:00".into(), closed: true }));
                }>{move || t("add_exception")}</button>
            </fieldset>
            {form.problems.view()}
            <button type="submit" class="big-button">{move || t("save_schedule")}</button>
        </form>
        {move || saved.get().map(|affected| view! {
            <section role="status" aria-label=move || t("saved")>
                <p>{t("saved")}</p>
                {if affected.is_empty() {
                    view! { <p>{t("none_affected")}</p> }.into_any()
                } else {
                    view! {
                        <h3>{t("affected")}</h3>
                        <ul>{affected.into_iter().map(|b| {
                            let at = time::local_date_time(&b.slot_start, &kept_zone, lang().get().tag());
                            view! { <li>{format!("{at} · {} · {} {}", b.code, b.party_size, t("people"))}</li> }
                        }).collect_view()}</ul>
                    }.into_any()
                }}
            </section>
        })}
    }
}
