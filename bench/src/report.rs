//! The bench's results: a table for people and `target/bench/latest.json` for tools.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::load::Run;
use crate::machine::{CpuTimes, Machine};

/// One measured scenario.
#[derive(Debug, Clone)]
pub struct Row {
    /// Stable name in the JSON file.
    pub key: String,
    /// What the table calls it.
    pub scenario: String,
    /// The headline figure.
    pub result: String,
    /// Median and 99th percentile latency (ms) of the successful requests.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Counts and derived figures.
    pub notes: Vec<String>,
    /// Everything, for the JSON file.
    pub json: Value,
}

fn base_json(run: &Run, status: u16) -> Value {
    json!({
        "clients": run.clients,
        "requests": run.samples.len(),
        "ok_status": status,
        "ok": run.count(status),
        "statuses": run.status_summary(),
        "window_s": run.window.as_secs_f64(),
        "elapsed_s": run.elapsed.as_secs_f64(),
        "p50_ms": run.percentile_ms(status, 0.5),
        "p99_ms": run.percentile_ms(status, 0.99),
    })
}

impl Row {
    /// Successful answers per second of a closed-loop run.
    pub fn throughput(key: &str, scenario: String, run: &Run, status: u16, unit: &str) -> Row {
        let rate = run.rate(status);
        let mut json = base_json(run, status);
        json["rate_per_s"] = json!(rate);
        json["unit"] = json!(unit);
        Row {
            key: key.to_string(),
            scenario,
            result: format!("{rate:.0} {unit}"),
            p50_ms: run.percentile_ms(status, 0.5),
            p99_ms: run.percentile_ms(status, 0.99),
            notes: vec![format!(
                "{} x {status} in {:.1} s",
                run.count_in_window(status),
                run.window.as_secs_f64()
            )],
            json,
        }
    }

    /// Adds the ratio to the baseline at the same concurrency.
    pub fn with_ratio(mut self, ratio: f64) -> Row {
        self.notes.push(format!("{ratio:.2} x baseline"));
        self.json["ratio_to_baseline"] = json!(ratio);
        self
    }

    /// Adds the runtime's CPU time during the run per successful request (`what`).
    pub fn with_cpu(mut self, cpu: CpuTimes, count: usize, what: &str) -> Row {
        let per = |s: f64| {
            if count > 0 {
                s * 1000.0 / count as f64
            } else {
                0.0
            }
        };
        self.notes
            .push(format!("CPU {:.2} ms/{what} (workerd)", per(cpu.workerd)));
        self.json["cpu_workerd_s"] = json!(cpu.workerd);
        self.json["cpu_group_s"] = json!(cpu.group);
        self.json["cpu_workerd_ms_per_ok"] = json!(per(cpu.workerd));
        self.json["cpu_group_ms_per_ok"] = json!(per(cpu.group));
        self
    }

    /// Latency of sequential requests.
    pub fn latency(key: &str, scenario: String, run: &Run, status: u16) -> Row {
        let p50 = run.percentile_ms(status, 0.5);
        Row {
            key: key.to_string(),
            scenario,
            result: format!("p50 {p50:.1} ms"),
            p50_ms: p50,
            p99_ms: run.percentile_ms(status, 0.99),
            notes: vec![format!("{} x {status}, 1 client", run.count(status))],
            json: base_json(run, status),
        }
    }

    /// The contended slot: how long the race took and how it ended.
    pub fn contended(run: &Run, listed: &Option<(Option<u64>, Option<u64>)>) -> Row {
        let mut json = base_json(run, 201);
        json["conflicts_409"] = json!(run.count(409));
        let (booked, available) = listed.unwrap_or((None, None));
        json["listed_booked"] = json!(booked);
        json["listed_available"] = json!(available);
        Row {
            key: "contended".to_string(),
            scenario: format!(
                "contended slot: {} attempts, capacity 100, {} clients",
                run.samples.len(),
                run.clients
            ),
            result: format!("{:.2} s", run.elapsed.as_secs_f64()),
            p50_ms: run.percentile_ms(201, 0.5),
            p99_ms: run.percentile_ms(201, 0.99),
            notes: vec![
                format!("{} x 201, {} x 409", run.count(201), run.count(409)),
                format!(
                    "listed booked {}, available {}",
                    booked.map_or("?".into(), |b| b.to_string()),
                    available.map_or("?".into(), |a| a.to_string())
                ),
            ],
            json,
        }
    }
}

/// How the machine's CPUs were used while the load ran (average cores).
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Length of the load part of the run.
    pub seconds: f64,
    /// `wrangler dev` (workerd and Node).
    pub runtime_cores: f64,
    /// This load generator.
    pub bench_cores: f64,
    /// Everything else on the machine (other builds and servers skew the figures).
    pub other_cores: f64,
    /// Left idle.
    pub idle_cores: f64,
}

/// A performance budget and whether this run met it.
#[derive(Debug, Clone)]
pub struct Budget {
    pub name: String,
    pub holds: bool,
    pub detail: String,
}

/// The whole run.
#[derive(Debug)]
pub struct Report {
    pub machine: Machine,
    /// Raw and gzip bytes of build/index_bg.wasm and build/index.js.
    pub wasm: (u64, u64),
    pub js: (u64, u64),
    pub build_time: Option<Duration>,
    pub rows: Vec<Row>,
    /// Runtime CPU ms per hot-store booking: (workerd, whole wrangler process group).
    pub cpu_per_booking: Option<(f64, f64)>,
    pub budgets: Vec<Budget>,
    pub warnings: Vec<String>,
    /// What makes the run fail (overbooking, wrong contended outcome).
    pub failures: Vec<String>,
    pub load_after: f64,
    pub wall: Duration,
    /// CPU use during the load part of the run.
    pub usage: Option<Usage>,
    /// The cost run's figures (bench/src/cost.rs), the `cost` part of latest.json.
    pub cost: Option<Value>,
}

impl Report {
    pub fn new(
        machine: Machine,
        wasm: (u64, u64),
        js: (u64, u64),
        build_time: Option<Duration>,
    ) -> Report {
        Report {
            machine,
            wasm,
            js,
            build_time,
            rows: Vec::new(),
            cpu_per_booking: None,
            budgets: Vec::new(),
            warnings: Vec::new(),
            failures: Vec::new(),
            load_after: 0.0,
            wall: Duration::ZERO,
            usage: None,
            cost: None,
        }
    }

    /// Records a warning when `run` saw statuses other than `expected` or transport errors.
    pub fn warn_unexpected(&mut self, phase: &str, run: &Run, expected: &[u16]) {
        if run.unexpected(expected) > 0 {
            let mut msg = format!("{phase}: unexpected answers: {}", run.status_summary());
            if let Some(e) = &run.first_error {
                let _ = write!(msg, " (first transport error: {e})");
            }
            self.warnings.push(msg);
        }
    }

    /// The Markdown table (also what the README's Performance section shows).
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nMachine: {} CPUs ({}), {:.1} GiB RAM; load average {:.2} before, {:.2} after; run took {:.0} s{}\n",
            m.cpus,
            m.cpu_model,
            m.memory_gib,
            m.load_before,
            self.load_after,
            self.wall.as_secs_f64(),
            self.build_time
                .map(|b| format!(" (optimised build {:.0} s)", b.as_secs_f64()))
                .unwrap_or_default()
        );
        if let Some(u) = self.usage {
            let _ = writeln!(
                out,
                "CPU during the {:.0} s of load (cores): wrangler dev {:.2}, load generator {:.2}, other processes {:.2}, idle {:.2}\n",
                u.seconds, u.runtime_cores, u.bench_cores, u.other_cores, u.idle_cores
            );
        }
        let _ = writeln!(out, "| scenario | result | p50 ms | p99 ms | notes |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {} |",
                row.scenario,
                row.result,
                row.p50_ms,
                row.p99_ms,
                row.notes.join(", ")
            );
        }
        if let Some((workerd, group)) = self.cpu_per_booking {
            let _ = writeln!(
                out,
                "| CPU per hot-store booking | {workerd:.2} ms | | | workerd processes (wrangler's whole process group: {group:.2} ms) |"
            );
        }
        let _ = writeln!(
            out,
            "| size build/index_bg.wasm | {} B gzip | | | {} B raw |",
            self.wasm.1, self.wasm.0
        );
        let _ = writeln!(
            out,
            "| size build/index.js | {} B gzip | | | {} B raw |",
            self.js.1, self.js.0
        );
        let _ = writeln!(out, "\nBudgets:");
        for b in &self.budgets {
            let _ = writeln!(
                out,
                "- [{}] {}: {}",
                if b.holds { "holds" } else { "MISSED" },
                b.name,
                b.detail
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }

    /// Writes the JSON report to `path` (creating its directory).
    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        let m = &self.machine;
        let scenarios: serde_json::Map<String, Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = r.json.clone();
                v["scenario"] = json!(r.scenario);
                (r.key.clone(), v)
            })
            .collect();
        let doc = json!({
            "machine": {
                "cpus": m.cpus,
                "cpu_model": m.cpu_model,
                "memory_gib": m.memory_gib,
                "load_average_before": m.load_before,
                "load_average_after": self.load_after,
            },
            "cpu_use_cores": self.usage.map(|u| json!({
                "seconds": u.seconds,
                "wrangler_dev": u.runtime_cores,
                "load_generator": u.bench_cores,
                "other_processes": u.other_cores,
                "idle": u.idle_cores,
            })),
            "build_s": self.build_time.map(|b| b.as_secs_f64()),
            "wall_s": self.wall.as_secs_f64(),
            "scenarios": scenarios,
            "cpu_ms_per_booking": self.cpu_per_booking.map(|(w, g)| json!({"workerd": w, "group": g})),
            "size": {
                "wasm_bytes": self.wasm.0,
                "wasm_gzip_bytes": self.wasm.1,
                "js_bytes": self.js.0,
                "js_gzip_bytes": self.js.1,
            },
            "budgets": self.budgets.iter().map(|b| json!({
                "name": b.name, "holds": b.holds, "detail": b.detail,
            })).collect::<Vec<_>>(),
            "warnings": self.warnings,
            "failures": self.failures,
            "cost": self.cost,
        });
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}
