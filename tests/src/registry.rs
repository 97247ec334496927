//! The black-box tests registered by `#[blackbox]` (crate `safemarket-blackbox-macros`), collected
//! with `inventory`: a test is registered where it is defined, so no list can forget it.

use std::collections::BTreeSet;
use std::path::Path;

pub use inventory;

/// One registered test.
#[derive(Debug)]
pub struct Blackbox {
    /// `<module path>::<function>`, e.g. `api::bookings::cancel_frees_the_place_at_once`.
    pub name: &'static str,
    /// The test body: panics are failures.
    pub run: fn(),
    /// Runs after every test not marked `last` (`#[blackbox(last)]`).
    pub last: bool,
}

inventory::collect!(Blackbox);

/// Every registered test in run order: those not marked `last` first, each group by name.
pub fn all() -> Vec<&'static Blackbox> {
    let mut tests: Vec<&'static Blackbox> = inventory::iter::<Blackbox>.into_iter().collect();
    tests.sort_by_key(|t| (t.last, t.name));
    tests
}

/// The module files under `dir` (the test crate's `api/`) that no registered test comes from:
/// `<stem>.rs` (other than `main.rs`) and `<stem>/` whose tests would be named
/// `<crate>::<stem>::...`. A file without its `mod` line in `main.rs` is never compiled, so its
/// tests would silently not exist; a module with no test at all belongs in the harness instead.
pub fn undeclared_modules(dir: &Path, crate_name: &str, tests: &[&Blackbox]) -> Vec<String> {
    let registered: BTreeSet<&str> = tests
        .iter()
        .filter_map(|t| t.name.strip_prefix(crate_name)?.strip_prefix("::"))
        .filter_map(|rest| rest.split("::").next())
        .collect();
    let mut missing: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                path.file_name()?.to_str().map(String::from)
            } else if path.extension()? == "rs" {
                let stem = path.file_stem()?.to_str()?;
                (stem != "main").then(|| stem.to_string())
            } else {
                None
            }
        })
        .filter(|module| !registered.contains(module.as_str()))
        .collect();
    missing.sort();
    missing
}
