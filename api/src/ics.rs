//! A small RFC 5545 writer for `text/calendar` bodies (the Worker's calendar feed, the booking
//! page's "Add to calendar" file): CRLF line ends, content lines folded at 75 octets (never
//! inside a UTF-8 sequence), TEXT values escaped (`\\`, `;`, `,`, newlines).
//! Output depends only on its input (DTSTAMP comes from the booking), so the feed's ETag is
//! stable between requests.

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Stable per booking.
    pub uid: String,
    /// Last change of the booking (UTC, RFC 3339 `YYYY-MM-DDTHH:MM:SSZ`).
    pub stamp: String,
    /// Slot start (UTC, RFC 3339).
    pub start: String,
    /// Slot end (UTC, RFC 3339).
    pub end: String,
    /// Title.
    pub summary: String,
    /// Store name and address.
    pub location: String,
    /// Details.
    pub description: String,
    /// Cancelled bookings say `STATUS:CANCELLED`.
    pub cancelled: bool,
    /// Increases with every change (the booking's index version).
    pub sequence: i64,
}

/// Escapes a TEXT value (RFC 5545 3.3.11).
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (RFC 5545 3.1), continuation lines starting with a
/// space, never splitting a UTF-8 sequence.
pub fn push_folded(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// `2026-12-01T09:00:00Z` -> `20261201T090000Z` (RFC 5545 DATE-TIME in UTC).
fn date_time(rfc3339: &str) -> String {
    rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// The whole `VCALENDAR` with `events`.
pub fn write_calendar(name: &str, events: &[FeedEvent]) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//SafeMarket//Bookings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_folded(&mut out, line);
    }
    push_folded(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    for e in events {
        let mut lines = Vec::with_capacity(12);
        lines.push("BEGIN:VEVENT".to_string());
        lines.push(format!("UID:{}", escape_text(&e.uid)));
        lines.push(format!("DTSTAMP:{}", date_time(&e.stamp)));
        lines.push(format!("DTSTART:{}", date_time(&e.start)));
        lines.push(format!("DTEND:{}", date_time(&e.end)));
        lines.push(format!("SEQUENCE:{}", e.sequence.max(0)));
        lines.push(format!("SUMMARY:{}", escape_text(&e.summary)));
        lines.push(format!("LOCATION:{}", escape_text(&e.location)));
        lines.push(format!("DESCRIPTION:{}", escape_text(&e.description)));
        let status = if e.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        lines.push(format!("STATUS:{status}"));
        lines.push("END:VEVENT".to_string());
        for line in lines {
            push_folded(&mut out, &line);
        }
    }
    push_folded(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a,b;c\\d\ne\r"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "ä".repeat(60));
        push_folded(&mut out, &line);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn a_calendar_has_one_vevent_per_booking_in_utc() {
        let event = FeedEvent {
            uid: "b1@safemarket.dev".into(),
            stamp: "2026-12-01T08:00:00Z".into(),
            start: "2026-12-01T09:00:00Z".into(),
            end: "2026-12-01T09:30:00Z".into(),
            summary: "Booking".into(),
            location: "Shop, Main St. 1".into(),
            description: "Code ABCD2345".into(),
            cancelled: true,
            sequence: 3,
        };
        let cal = write_calendar("SafeMarket", &[event.clone(), event]);
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        assert_eq!(cal.matches("BEGIN:VEVENT").count(), 2);
        assert!(cal.contains("DTSTART:20261201T090000Z\r\n"));
        assert!(cal.contains("STATUS:CANCELLED\r\n"));
        assert!(cal.contains("LOCATION:Shop\\, Main St. 1\r\n"));
    }
}
