//! IANA time zones without a compiled-in database: a [`Tz`] is one zone's table of UTC offset
//! changes, read from the compact text form that `tzdata` (`src/bin/tzdata.rs`) derives from
//! the pinned chrono-tz and `make site` serves as static assets (`/tz/<name>.tz`). The Worker
//! knows only the list of names ([`canonical_name`]) and two zones of its own ([`Tz::UTC`] and
//! [`europe_berlin`], the legacy app's default); every other zone is loaded once per isolate
//! and kept ([`Tz::from_table`]), so a store object holds only its store's zone.
//!
//! The table format (version 1), one item a line:
//!
//! ```text
//! safemarket-zone 1
//! Europe/Berlin
//! 3208                 offset (seconds east of UTC) before the first change
//! -2422054408 3600     from this UTC instant (Unix seconds) on, this offset
//! ...
//! ```
//!
//! The offsets are chrono-tz's total offsets (standard + DST) at every instant, so conversions
//! in both directions answer exactly what chrono-tz answers (`zone/tests.rs` compares them over
//! every zone).

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

use chrono::{
    FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};

#[cfg(not(target_arch = "wasm32"))]
pub mod tzdb;

#[cfg(test)]
mod tests;

/// The first line of every table.
const HEADER: &str = "safemarket-zone 1";

/// Every zone name chrono-tz knows (canonical zones and links), one a line, in its order.
const NAMES: &str = include_str!("zone/names.txt");

/// `Europe/Berlin`'s table, as `tzdata` writes it (a test checks it against chrono-tz).
const EUROPE_BERLIN: &str = include_str!("zone/Europe-Berlin.tz");

/// No zone's offset reaches a day (LMT offsets stay within about ±16 h); bounds the spans a
/// local time can fall into.
const OFFSET_BOUND: i64 = 86_400;

/// One zone's offsets over time.
#[derive(Debug, PartialEq, Eq)]
pub struct ZoneRules {
    name: &'static str,
    /// Offset before the first change.
    first: i32,
    /// `(utc, offset)`: from Unix second `utc` on, `offset`; strictly increasing `utc`, and no
    /// two neighbours with the same offset.
    changes: Cow<'static, [(i64, i32)]>,
}

static UTC_RULES: ZoneRules = ZoneRules {
    name: "UTC",
    first: 0,
    changes: Cow::Borrowed(&[]),
};

/// The zones read so far (each once; a zone is a few KB and there are a few hundred).
static LOADED: Mutex<Vec<&'static ZoneRules>> = Mutex::new(Vec::new());

/// An IANA time zone: a cheap handle (`Copy`) on its rules, which live as long as the process.
#[derive(Clone, Copy)]
pub struct Tz(&'static ZoneRules);

/// Why a zone table was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError(String);

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad zone table: {}", self.0)
    }
}

impl std::error::Error for ZoneError {}

/// The name as chrono-tz spells it when `raw` is one of its zone names (exact match, as
/// chrono-tz's `FromStr`), else `None`.
pub fn canonical_name(raw: &str) -> Option<&'static str> {
    NAMES.lines().find(|name| *name == raw)
}

/// Every zone name, in chrono-tz's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    NAMES.lines()
}

/// `Europe/Berlin`, compiled in: the legacy app's default zone needs no asset.
pub fn europe_berlin() -> Tz {
    // A constant the tests read and compare with chrono-tz's Berlin, so the fallback is
    // never taken.
    loaded("Europe/Berlin").unwrap_or_else(|| Tz::from_table(EUROPE_BERLIN).unwrap_or(Tz::UTC))
}

/// The zone `name` if this process read its table already.
fn loaded(name: &str) -> Option<Tz> {
    let loaded = LOADED.lock().ok()?;
    loaded
        .iter()
        .find(|rules| rules.name == name)
        .map(|rules| Tz(rules))
}

impl Tz {
    /// Coordinated Universal Time (chrono-tz's `UTC`).
    pub const UTC: Tz = Tz(&UTC_RULES);

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// A zone already in this process (UTC, Berlin, or one read before), by name.
    pub fn known(name: &str) -> Option<Tz> {
        if name == "UTC" {
            return Some(Tz::UTC);
        }
        match loaded(name) {
            None if name == "Europe/Berlin" => Some(europe_berlin()),
            found => found,
        }
    }

    /// The zone of table `text` (see the module docs); the same rules read again are the
    /// same handle, so a process keeps each zone once.
    pub fn from_table(text: &str) -> Result<Tz, ZoneError> {
        let rules = parse(text)?;
        if rules == UTC_RULES {
            return Ok(Tz::UTC);
        }
        let mut loaded = LOADED
            .lock()
            .map_err(|_| ZoneError("zone registry poisoned".into()))?;
        if let Some(known) = loaded.iter().find(|known| ***known == rules) {
            return Ok(Tz(known));
        }
        let rules: &'static ZoneRules = Box::leak(Box::new(rules));
        loaded.push(rules);
        Ok(Tz(rules))
    }

    /// The zone's table, as [`Tz::from_table`] reads it (what a store object records).
    pub fn table(self) -> String {
        use fmt::Write;
        let mut out = format!("{HEADER}\n{}\n{}\n", self.name(), self.0.first);
        for (utc, offset) in self.0.changes.iter() {
            // Writing into a String cannot fail.
            let _ = writeln!(out, "{utc} {offset}");
        }
        out
    }

    /// The offset in force at Unix second `utc`.
    fn offset_at(self, utc: i64) -> i32 {
        let changes = &self.0.changes;
        match changes.partition_point(|(at, _)| *at <= utc) {
            0 => self.0.first,
            i => changes[i - 1].1,
        }
    }

    /// The offsets whose span contains local second `local` (each span `[begin, end)` of UTC
    /// instants, shifted by its own offset), earliest first.
    fn local_offsets(self, local: i64) -> LocalResult<i32> {
        let changes = &self.0.changes;
        // Spans that can contain `local` start before `local + OFFSET_BOUND` (UTC) and end
        // after `local - OFFSET_BOUND`.
        let from = changes.partition_point(|(at, _)| *at <= local - OFFSET_BOUND);
        let (mut first, mut last, mut count) = (0, 0, 0);
        for span in from..=changes.len() {
            let (begin, offset) = match span {
                0 => (None, self.0.first),
                i => (Some(changes[i - 1].0), changes[i - 1].1),
            };
            if begin.is_some_and(|b| b > local + OFFSET_BOUND) {
                break;
            }
            let end = changes.get(span).map(|(at, _)| *at);
            let offset64 = i64::from(offset);
            let after_begin = begin.is_none_or(|b| b + offset64 <= local);
            let before_end = end.is_none_or(|e| local < e + offset64);
            if after_begin && before_end {
                if count == 0 {
                    first = offset;
                }
                last = offset;
                count += 1;
            }
        }
        match count {
            0 => LocalResult::None,
            1 => LocalResult::Single(first),
            _ => LocalResult::Ambiguous(first, last),
        }
    }

    fn offset(self, seconds: i32) -> ZoneOffset {
        ZoneOffset {
            tz: self,
            // Tables are validated on read: every offset is within a day, so this never
            // falls back.
            fixed: FixedOffset::east_opt(seconds).unwrap_or_else(|| Utc.fix()),
        }
    }
}

impl PartialEq for Tz {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for Tz {}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A zone's offset at some instant (what `DateTime<Tz>` carries).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ZoneOffset {
    tz: Tz,
    fixed: FixedOffset,
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.fixed, f)
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl TimeZone for Tz {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Self {
        offset.tz
    }

    /// As chrono-tz: a single offset the date has at some moment (its start's, else its end's).
    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        let at = |time: NaiveTime| self.offset_from_local_datetime(&local.and_time(time));
        let latest = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
        match (at(NaiveTime::MIN), at(latest)) {
            (LocalResult::Single(o), _) | (_, LocalResult::Single(o)) => LocalResult::Single(o),
            (LocalResult::Ambiguous(o, _), _) | (_, LocalResult::Ambiguous(o, _)) => {
                LocalResult::Single(o)
            }
            (LocalResult::None, LocalResult::None) => LocalResult::None,
        }
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        self.local_offsets(local.and_utc().timestamp())
            .map(|seconds| self.offset(seconds))
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset(self.offset_at(utc.and_utc().timestamp()))
    }
}

/// Reads a table (module docs), checking what the conversions rely on.
fn parse(text: &str) -> Result<ZoneRules, ZoneError> {
    let bad = |what: &str| ZoneError(what.to_string());
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad("not a version 1 table"));
    }
    let name = lines
        .next()
        .and_then(canonical_name)
        .ok_or_else(|| bad("unknown zone name"))?;
    let offset = |raw: &str| {
        raw.parse::<i32>()
            .ok()
            .filter(|o| i64::from(o.unsigned_abs()) < OFFSET_BOUND)
            .ok_or_else(|| bad("bad offset"))
    };
    let first = offset(lines.next().ok_or_else(|| bad("no first offset"))?)?;
    let mut changes: Vec<(i64, i32)> = Vec::new();
    let mut previous = first;
    for line in lines {
        let (at, off) = line.split_once(' ').ok_or_else(|| bad("bad change"))?;
        let at: i64 = at.parse().map_err(|_| bad("bad instant"))?;
        let off = offset(off)?;
        if changes.last().is_some_and(|(last, _)| *last >= at) {
            return Err(bad("changes out of order"));
        }
        if off == previous {
            return Err(bad("a change that changes nothing"));
        }
        changes.push((at, off));
        previous = off;
    }
    Ok(ZoneRules {
        name,
        first,
        changes: Cow::Owned(changes),
    })
}
