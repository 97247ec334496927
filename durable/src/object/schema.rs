//! The object's SQLite schema, applied in order and recorded in `meta.schema_version`.

/// Schema migrations; index + 1 is the version a migration brings the database to.
/// Append only: a deployed object may be at any earlier version.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );"];

/// Statements that bring a database at `current` to the latest version, with the version
/// each one reaches.
pub fn pending(current: usize) -> impl Iterator<Item = (usize, &'static str)> {
    MIGRATIONS
        .iter()
        .enumerate()
        .skip(current)
        .map(|(i, sql)| (i + 1, *sql))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pending_skips_applied_versions() {
        let all: Vec<_> = super::pending(0).collect();
        assert_eq!(all.len(), super::MIGRATIONS.len());
        assert_eq!(all[0].0, 1);
        assert_eq!(super::pending(super::MIGRATIONS.len()).count(), 0);
    }
}
