//! `make dev` demo data, created through the API like any client would: the demo owner
//! (`demo@safemarket.dev` / `safemarket-demo`) and four stores around Berlin in different
//! categories. Idempotent: when the demo owner already has open stores it only lists them.
//!
//! Usage: `cargo run -q -p safemarket-blackbox --bin seed -- http://127.0.0.1:8787`

use std::process::ExitCode;

use safemarket_blackbox::{Api, Resp};
use serde_json::{json, Value};

const EMAIL: &str = "demo@safemarket.dev";
const PASSWORD: &str = "safemarket-demo";

/// Name, category, address, latitude, longitude (Europe/Berlin).
const DEMO_STORES: [(&str, &str, &str, f64, f64); 4] = [
    (
        "Demo Supermarkt Alexanderplatz",
        "supermarket",
        "Alexanderplatz 9, 10178 Berlin",
        52.5215,
        13.4110,
    ),
    (
        "Demo Bäckerei Kastanienallee",
        "bakery",
        "Kastanienallee 12, 10435 Berlin",
        52.5385,
        13.4098,
    ),
    (
        "Demo Apotheke Oranienstraße",
        "pharmacy",
        "Oranienstraße 25, 10999 Berlin",
        52.5013,
        13.4197,
    ),
    (
        "Demo Späti Simon-Dach-Straße",
        "other",
        "Simon-Dach-Straße 20, 10245 Berlin",
        52.5101,
        13.4571,
    ),
];

fn main() -> ExitCode {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8787".into());
    match run(&Api::new(&base)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(api: &Api) -> Result<(), String> {
    let owner = api.with_token(&sign_in(api)?);
    let mut stores = open_stores(&owner)?;
    if stores.is_empty() {
        for (name, category, address, lat, lon) in DEMO_STORES {
            let body = json!({"name": name, "category": category, "address": address,
                "latitude": lat, "longitude": lon, "timezone": "Europe/Berlin"});
            stores.push(expect(
                call(&owner, "POST", "/api/v1/stores", Some(&body))?,
                201,
            )?);
        }
    }
    seed_schedules(&owner, &stores)?;
    print_summary(api.base(), &stores);
    Ok(())
}

/// Opening hours per category: (days, open, close) intervals, slot minutes, places per slot.
fn demo_schedule(category: &str) -> Value {
    const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];
    let (hours, slot_minutes, capacity): (Vec<(&str, &str, &str)>, u32, u32) = match category {
        "supermarket" => (
            WEEKDAYS
                .iter()
                .chain(&["sat"])
                .map(|d| (*d, "08:00", "22:00"))
                .collect(),
            30,
            40,
        ),
        "bakery" => {
            let mut h: Vec<_> = WEEKDAYS
                .iter()
                .chain(&["sat"])
                .map(|d| (*d, "07:00", "18:00"))
                .collect();
            h.push(("sun", "08:00", "12:00"));
            (h, 15, 8)
        }
        "pharmacy" => {
            let mut h: Vec<_> = WEEKDAYS.iter().map(|d| (*d, "08:00", "19:00")).collect();
            h.push(("sat", "09:00", "14:00"));
            (h, 15, 5)
        }
        _ => (
            WEEKDAYS
                .iter()
                .chain(&["sat", "sun"])
                .map(|d| (*d, "10:00", "24:00"))
                .collect(),
            60,
            10,
        ),
    };
    let weekly: Vec<Value> = hours
        .into_iter()
        .map(|(day, open, close)| json!({"day": day, "open": open, "close": close}))
        .collect();
    json!({"slot_minutes": slot_minutes, "capacity": capacity, "horizon_days": 14,
        "max_active_bookings_per_user": 3, "weekly": weekly, "exceptions": []})
}

/// Gives each demo store its opening hours, unless it already has a schedule (reruns keep
/// whatever was changed since).
fn seed_schedules(owner: &Api, stores: &[Value]) -> Result<(), String> {
    for store in stores {
        let id = store["id"].as_str().unwrap_or_default();
        let path = format!("/api/v1/stores/{id}/schedule");
        if call(owner, "GET", &path, None)?.status == 404 {
            let schedule = demo_schedule(store["category"].as_str().unwrap_or_default());
            expect(call(owner, "PUT", &path, Some(&schedule))?, 200)?;
        }
    }
    Ok(())
}

/// The demo owner's access token: log in, or register on first run.
fn sign_in(api: &Api) -> Result<String, String> {
    let credentials = json!({"email": EMAIL, "password": PASSWORD});
    let login = call(api, "POST", "/api/v1/auth/login", Some(&credentials))?;
    let session = if login.status == 401 {
        let mut body = credentials.clone();
        body["display_name"] = json!("Demo Owner");
        let registered = call(api, "POST", "/api/v1/auth/register", Some(&body))?;
        if registered.status == 409 {
            return Err(format!(
                "{EMAIL} exists with another password; `make reset` wipes local data"
            ));
        }
        expect(registered, 201)?
    } else {
        expect(login, 200)?
    };
    session["access_token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "no access_token in the answer".into())
}

/// The open stores the demo account owns.
fn open_stores(owner: &Api) -> Result<Vec<Value>, String> {
    let mine = expect(
        call(owner, "GET", "/api/v1/me/stores?limit=200", None)?,
        200,
    )?;
    Ok(mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["role"] == "owner" && s["closed"] == false)
        .cloned()
        .collect())
}

fn call(api: &Api, method: &str, path: &str, body: Option<&Value>) -> Result<Resp, String> {
    let bytes = body.map(|b| b.to_string().into_bytes());
    let body = bytes.as_deref().map(|b| ("application/json", b));
    api.send(method, path, &[], body)
        .map_err(|e| format!("{method} {path}: {e}"))
}

fn expect(resp: Resp, status: u16) -> Result<Value, String> {
    if resp.status == status {
        Ok(resp.json())
    } else {
        Err(format!(
            "expected HTTP {status}, got {}: {}",
            resp.status, resp.text
        ))
    }
}

fn print_summary(base: &str, stores: &[Value]) {
    println!("\nDemo account: {EMAIL} / {PASSWORD}");
    println!("Demo stores (owned by the demo account):");
    for s in stores {
        let field = |k: &str| s[k].as_str().unwrap_or_default().to_string();
        println!(
            "  {}  {:<11}  {}",
            field("id"),
            field("category"),
            field("name")
        );
        println!("    booking page: {base}/book/{}", field("id"));
    }
    println!("Nearby:  {base}/api/v1/stores?lat=52.52&lon=13.405&radius_m=5000");
    if let Some(id) = stores.first().and_then(|s| s["id"].as_str()) {
        println!("Slots:   {base}/api/v1/stores/{id}/slots?from=YYYY-MM-DD&to=YYYY-MM-DD");
    }
}
