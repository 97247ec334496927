//! Checks of SQL against a real SQLite, for the tests of the crates that hold SQL: neither
//! D1 nor the store object's SQLite exists natively, and Python's `sqlite3` module is on
//! every machine that builds this project (the setup needs Python). Only with the
//! `sqlite-check` feature, which the other crates enable for their tests alone.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs Python `script` with `import json, sqlite3` done and `name` bound to the list
/// `statements` (SQL scripts, e.g. a crate's migrations in order); returns what it printed.
///
/// # Panics
/// When python3 cannot run or the script fails (its stderr is the message): for tests only.
pub fn python(name: &str, statements: &[&str], script: &str) -> String {
    let statements = serde_json::to_string(statements).expect("strings serialise");
    let program = format!("import json, sqlite3\n{name} = json.loads({statements:?})\n{script}");
    let mut child = Command::new("python3")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(program.as_bytes())
        .expect("python3 reads its program");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 prints UTF-8")
}
