//! `tzdata <dir>`: writes every zone's table (`safemarket_engine::zone`) as `<dir>/<name>.tz`,
//! derived from the pinned chrono-tz; `make site` serves them as static assets under `/tz/`.
//! `tzdata --embedded <dir>` writes the two files the Worker compiles in instead: `names.txt`
//! (every zone name) and `Europe-Berlin.tz` (the legacy app's default zone).

use std::path::Path;
use std::process::ExitCode;

use safemarket_engine::zone::tzdb;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, dir] if flag == "--embedded" => embedded(Path::new(dir)),
        [dir] => assets(Path::new(dir)),
        _ => Err("usage: tzdata <assets dir> | tzdata --embedded <dir>".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tzdata: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn table(name: &str) -> Result<String, String> {
    tzdb::chrono_zone(name)
        .map(tzdb::table_of)
        .ok_or_else(|| format!("chrono-tz has no zone {name}"))
}

fn assets(dir: &Path) -> Result<(), String> {
    for name in tzdb::all_names() {
        write(&dir.join(format!("{name}.tz")), &table(name)?)?;
    }
    Ok(())
}

fn embedded(dir: &Path) -> Result<(), String> {
    let mut names = tzdb::all_names().join("\n");
    names.push('\n');
    write(&dir.join("names.txt"), &names)?;
    write(&dir.join("Europe-Berlin.tz"), &table("Europe/Berlin")?)
}
