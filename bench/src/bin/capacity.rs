//! `make capacity`: the capacity model (`bench/src/capacity.rs`) for a scenario.
//!
//! Usage: `capacity [--preset town|city|country] [--stores N] [--bookings-per-day N]
//! [--reads-per-day N] [--peak-factor X] [--hot-store-factor X] [--figures PATH]`; without a
//! preset or flags it prints all three presets. Figures come from `target/bench/latest.json`
//! when a bench ran, else from the committed `bench/capacity-figures.json`.

#[path = "../capacity.rs"]
mod capacity;

use std::path::PathBuf;
use std::process::ExitCode;

use capacity::{table, Figures, Scenario};
use safemarket_blackbox::server::project_root;

fn figures(explicit: Option<PathBuf>) -> Result<Figures, String> {
    let root = project_root();
    let candidates = match explicit {
        Some(p) => vec![p],
        None => vec![
            root.join("target/bench/latest.json"),
            root.join("bench/capacity-figures.json"),
        ],
    };
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let doc: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            // The committed file holds the figures under the bench's own field names.
            let base = Figures::from_json(Figures::committed(), &doc["measured"], &shown);
            return Ok(Figures::from_json(base, &doc, &shown));
        }
    }
    Ok(Figures::committed())
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut custom: Option<Scenario> = None;
    let mut figures_path = None;
    let custom_of = |c: &mut Option<Scenario>| -> Scenario {
        c.take().unwrap_or_else(|| {
            let mut s = Scenario::preset("town").unwrap_or_else(|| unreachable!());
            s.name = "custom".into();
            s
        })
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.replace('_', "")
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| format!("{flag}: not a positive number: {v}"))
        };
        match flag.as_str() {
            "--preset" => {
                let name = value()?;
                custom = Some(Scenario::preset(&name).ok_or(format!("no preset {name}"))?);
            }
            "--figures" => figures_path = Some(PathBuf::from(value()?)),
            "--stores" | "--bookings-per-day" | "--reads-per-day" | "--peak-factor"
            | "--hot-store-factor" => {
                let x = number(value()?)?;
                let mut s = custom_of(&mut custom);
                match flag.as_str() {
                    "--stores" => s.stores = x,
                    "--bookings-per-day" => {
                        s.availability_reads_per_day *= x / s.bookings_per_day;
                        s.bookings_per_day = x;
                    }
                    "--reads-per-day" => s.availability_reads_per_day = x,
                    "--peak-factor" => s.peak_factor = x,
                    _ => s.hot_store_factor = x,
                }
                custom = Some(s);
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (see bench/src/bin/capacity.rs)"
                ))
            }
        }
    }
    match custom {
        Some(s) => scenarios.push(s),
        None => {
            for name in ["town", "city", "country"] {
                scenarios.extend(Scenario::preset(name));
            }
        }
    }
    let f = figures(figures_path)?;
    for s in &scenarios {
        println!("{}", table(&f, s));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capacity: {e}");
            ExitCode::FAILURE
        }
    }
}
