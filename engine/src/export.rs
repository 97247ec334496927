//! The month export of a store's bookings: its two formats and the merge that streams one
//! month in slot order out of the store's object (recent bookings) and its R2 archive.
//!
//! The merge sees each source as a sorted run whose unread rest is known to start no earlier
//! than some bound: the object's pages (read in `(slot_start, id)` order: the rest follows the
//! last one read) and the month's R2 objects (each sorted; listed in the order of their first
//! slot start, which their key names, so an unopened object starts no earlier than its key
//! says). A record is emitted once nothing unread can come before it; otherwise the source
//! with the lowest bound is read next. So the Worker holds only the overlap of the runs, never
//! the month.
//!
//! A booking can be in two places for a moment (archived to R2, not yet deleted from the
//! object), and a retried batch may have been archived twice with different states: copies
//! have the same `(slot_start, id)`, so they meet in the merge and only the latest
//! (`updated_at`) is emitted.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

use crate::history::ArchivedBooking;
use crate::slots::format_utc;

/// The CSV columns, exactly as API.md lists them, then the guest's name and phone (filled for
/// bookings an api key made for a caller, empty otherwise).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "code",
    "slot_start",
    "slot_end",
    "party_size",
    "status",
    "channel",
    "created_at",
    "checked_in_at",
    "guest_name",
    "guest_phone",
];

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row, UTF-8.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// Parses `csv` or `ndjson`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The answer's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// What the body starts with (the CSV header row).
    pub fn preamble(self) -> String {
        match self {
            Format::Csv => csv_line(CSV_COLUMNS.iter().map(|c| csv_field(c))),
            Format::Ndjson => String::new(),
        }
    }

    /// One record in this format (with its line end).
    pub fn line(self, r: &ArchivedBooking) -> String {
        match self {
            Format::Csv => csv_row(r),
            Format::Ndjson => r.ndjson_line(),
        }
    }
}

/// One CSV field, quoted (RFC 4180) when it holds a comma, quote, CR or LF.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Free text a caller typed (a guest's name) as a CSV field: one starting with a character a
/// spreadsheet reads as a formula (`= + - @`) gets a leading `'`, so opening the export never
/// runs what someone typed into a name.
pub fn csv_text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@']) {
        csv_field(&format!("'{value}"))
    } else {
        csv_field(value)
    }
}

fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let mut line = fields.collect::<Vec<_>>().join(",");
    // RFC 4180 ends records with CRLF.
    line.push_str("\r\n");
    line
}

/// One booking as a CSV record in [`CSV_COLUMNS`] order.
pub fn csv_row(r: &ArchivedBooking) -> String {
    let (name, phone) = r
        .guest
        .as_ref()
        .map(|g| (g.name.clone(), g.phone.clone()))
        .unwrap_or_default();
    csv_line(
        [
            csv_field(&r.id),
            csv_field(&r.code),
            format_utc(r.slot_start),
            format_utc(r.slot_end),
            r.party_size.to_string(),
            r.status.as_str().to_string(),
            r.channel.as_str().to_string(),
            format_utc(r.created_at),
            r.checked_in_at.map(format_utc).unwrap_or_default(),
            csv_text(&name),
            csv_field(&phone),
        ]
        .into_iter(),
    )
}

/// How far a source has been read: what its unread rest starts at or after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// Nothing left.
    Done,
    /// The rest starts strictly after this `(slot_start, id)` (a paged source read so far).
    After(DateTime<Utc>, String),
    /// The rest starts at or after this instant (an unopened object of a sorted listing).
    From(DateTime<Utc>),
}

impl Unread {
    /// Whether nothing unread can sort before `r`.
    fn admits(&self, r: &ArchivedBooking) -> bool {
        match self {
            Unread::Done => true,
            Unread::After(start, id) => (r.slot_start, r.id.as_str()) <= (*start, id.as_str()),
            Unread::From(start) => r.slot_start < *start,
        }
    }

    fn start(&self) -> Option<DateTime<Utc>> {
        match self {
            Unread::Done => None,
            Unread::After(s, _) | Unread::From(s) => Some(*s),
        }
    }
}

/// Which source the merge needs read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The next page of the object's bookings.
    Object,
    /// The next archive object (or listing page) of R2.
    Archive,
}

/// A record in the merge's heap, ordered by `(slot_start, id)`, the newest copy first.
#[derive(Debug)]
struct Queued(ArchivedBooking);

impl Queued {
    fn key(&self) -> (DateTime<Utc>, &str, Reverse<DateTime<Utc>>) {
        (
            self.0.slot_start,
            self.0.id.as_str(),
            Reverse(self.0.updated_at),
        )
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The streaming merge of one month (see the module docs).
#[derive(Debug)]
pub struct Merge {
    heap: BinaryHeap<Reverse<Queued>>,
    object: Unread,
    archive: Unread,
}

/// What [`Merge::step`] asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The next record of the month.
    Emit(ArchivedBooking),
    /// Read this source and tell the merge what came.
    Read(Need),
    /// The month is complete.
    Finished,
}

impl Default for Merge {
    fn default() -> Self {
        Self::new()
    }
}

impl Merge {
    /// A merge with both sources unread (their first read decides their bounds).
    pub fn new() -> Self {
        Merge {
            heap: BinaryHeap::new(),
            object: Unread::From(DateTime::<Utc>::MIN_UTC),
            archive: Unread::From(DateTime::<Utc>::MIN_UTC),
        }
    }

    /// Adds records read from a source (any order).
    pub fn add(&mut self, records: Vec<ArchivedBooking>) {
        self.heap
            .extend(records.into_iter().map(|r| Reverse(Queued(r))));
    }

    /// Records how far the object's pages have been read.
    pub fn object_read(&mut self, unread: Unread) {
        self.object = unread;
    }

    /// Records how far the archive has been read.
    pub fn archive_read(&mut self, unread: Unread) {
        self.archive = unread;
    }

    /// The next step: a record when one is ready, else the source to read.
    pub fn step(&mut self) -> Step {
        if let Some(Reverse(Queued(head))) = self.heap.peek() {
            if self.object.admits(head) && self.archive.admits(head) {
                return self.pop_latest_copy();
            }
        } else if self.object == Unread::Done && self.archive == Unread::Done {
            return Step::Finished;
        }
        // Read the source whose unread part may start first.
        let need = match (self.object.start(), self.archive.start()) {
            (Some(o), Some(a)) if a < o => Need::Archive,
            (Some(_), _) => Need::Object,
            (None, _) => Need::Archive,
        };
        Step::Read(need)
    }

    /// Pops the head and every other copy of the same booking, emitting the head (the
    /// newest copy: the heap orders copies newest first).
    fn pop_latest_copy(&mut self) -> Step {
        let Some(Reverse(Queued(head))) = self.heap.pop() else {
            return Step::Finished;
        };
        while let Some(Reverse(Queued(next))) = self.heap.peek() {
            if next.slot_start != head.slot_start || next.id != head.id {
                break;
            }
            self.heap.pop();
        }
        Step::Emit(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::BookingStatus;
    use crate::history::{ArchivedGuest, Channel};
    use chrono::TimeDelta;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-10-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + TimeDelta::minutes(min)
    }

    fn rec(id: &str, start: i64) -> ArchivedBooking {
        ArchivedBooking {
            id: id.into(),
            code: "ABCD2345".into(),
            slot_start: at(start),
            slot_end: at(start + 30),
            party_size: 1,
            status: BookingStatus::Confirmed,
            channel: Channel::App,
            created_at: at(-100),
            checked_in_at: None,
            updated_at: at(-100),
            guest: None,
        }
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("Zoë Müller"), "Zoë Müller");
        assert_eq!(csv_text("=1+1"), "'=1+1");
        assert_eq!(csv_text("-x, y"), "\"'-x, y\"");
        assert_eq!(csv_field("+4930123456"), "+4930123456");
        assert_eq!(
            Format::Csv.preamble(),
            "id,code,slot_start,slot_end,party_size,status,channel,created_at,checked_in_at,guest_name,guest_phone\r\n"
        );
        let mut r = rec("b1", 0);
        r.channel = Channel::ApiKey;
        r.guest = Some(ArchivedGuest {
            name: "Zoë \"Zee\", Jr.".into(),
            phone: "+4930123456".into(),
        });
        assert_eq!(
            csv_row(&r),
            "b1,ABCD2345,2026-10-01T08:00:00Z,2026-10-01T08:30:00Z,1,confirmed,api_key,\
             2026-10-01T06:20:00Z,,\"Zoë \"\"Zee\"\", Jr.\",+4930123456\r\n"
        );
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("CSV"), None);
        assert_eq!(Format::parse("xlsx"), None);
    }

    /// Runs a merge over an object paged `page` at a time and archive runs opened lazily: the
    /// ids emitted and the most records the merge held at once.
    fn run_held(
        object: &[ArchivedBooking],
        runs: &[Vec<ArchivedBooking>],
        page: usize,
    ) -> (Vec<String>, usize) {
        let mut object: Vec<ArchivedBooking> = object.to_vec();
        object.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut runs: Vec<Vec<ArchivedBooking>> = runs.to_vec();
        for r in &mut runs {
            r.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        }
        runs.sort_by_key(|r| r[0].slot_start);
        let (mut obj_at, mut run_at) = (0, 0);
        let mut merge = Merge::new();
        let mut out = Vec::new();
        let mut held = 0usize;
        loop {
            match merge.step() {
                Step::Emit(r) => out.push(r.id),
                Step::Finished => break,
                Step::Read(Need::Object) => {
                    let chunk: Vec<_> = object.iter().skip(obj_at).take(page).cloned().collect();
                    obj_at += chunk.len();
                    let unread = match chunk.last() {
                        Some(last) if chunk.len() == page => {
                            Unread::After(last.slot_start, last.id.clone())
                        }
                        _ => Unread::Done,
                    };
                    merge.add(chunk);
                    held = held.max(merge.heap.len());
                    merge.object_read(unread);
                }
                Step::Read(Need::Archive) => {
                    if let Some(r) = runs.get(run_at) {
                        merge.add(r.clone());
                        run_at += 1;
                        held = held.max(merge.heap.len());
                    }
                    merge.archive_read(match runs.get(run_at) {
                        Some(next) => Unread::From(next[0].slot_start),
                        None => Unread::Done,
                    });
                }
            }
        }
        (out, held)
    }

    fn run(object: &[ArchivedBooking], runs: &[Vec<ArchivedBooking>], page: usize) -> Vec<String> {
        run_held(object, runs, page).0
    }

    #[test]
    fn merges_object_pages_and_overlapping_runs_in_slot_order() {
        let object: Vec<_> = (0..7).map(|i| rec(&format!("o{i}"), 100 + i * 7)).collect();
        let runs = vec![
            vec![rec("a1", 0), rec("a2", 50), rec("a3", 120)],
            vec![rec("b1", 10), rec("b2", 20)],
            vec![rec("c1", 50), rec("c2", 200)],
        ];
        let ids = run(&object, &runs, 3);
        let mut expected: Vec<ArchivedBooking> = object
            .iter()
            .chain(runs.iter().flatten())
            .cloned()
            .collect();
        expected.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        assert_eq!(
            ids,
            expected.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
        );
        assert_eq!(run(&[], &[], 3), Vec::<String>::new());
        // A long month in many small runs and pages is never held whole.
        let long: Vec<_> = (0..200).map(|i| rec(&format!("o{i:03}"), i * 10)).collect();
        let runs: Vec<Vec<_>> = (0..20)
            .map(|r| {
                (0..10)
                    .map(|i| rec(&format!("a{r:02}{i}"), r * 100 + i * 10 + 5))
                    .collect()
            })
            .collect();
        let (ids, held) = run_held(&long, &runs, 10);
        assert_eq!(ids.len(), 400);
        let starts: Vec<i64> = ids
            .iter()
            .map(|id| match id.strip_prefix('o') {
                Some(n) => n.parse::<i64>().unwrap() * 10,
                None => {
                    let (r, i) = id[1..].split_at(2);
                    r.parse::<i64>().unwrap() * 100 + i.parse::<i64>().unwrap() * 10 + 5
                }
            })
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");
        assert!(held <= 40, "held {held} of 400");
        assert_eq!(run(&object[..2], &[], 2), ["o0", "o1"]);
    }

    #[test]
    fn copies_of_one_booking_are_emitted_once_latest_first() {
        let mut newer = rec("x", 10);
        newer.status = BookingStatus::NoShow;
        newer.updated_at = at(60);
        let runs = [vec![rec("x", 10), rec("y", 11)], vec![newer.clone()]];
        let mut merge = Merge::new();
        merge.add(runs[0].clone());
        merge.add(runs[1].clone());
        merge.add(vec![rec("x", 10)]);
        merge.object_read(Unread::Done);
        merge.archive_read(Unread::Done);
        assert_eq!(merge.step(), Step::Emit(newer));
        assert_eq!(merge.step(), Step::Emit(rec("y", 11)));
        assert_eq!(merge.step(), Step::Finished);
    }
}
