//! List pagination shared by every list endpoint: `limit` (default 50, max 200) and opaque
//! cursors that carry the sort key of the last item of the previous page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::Serialize;

use crate::error::{ApiError, FieldError};

/// Page size when the client sends no `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 200;
/// Longest cursor accepted (ours are far shorter).
const MAX_CURSOR_LEN: usize = 512;

/// The `limit` and `cursor` query parameters of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items per page, `1..=MAX_LIMIT`.
    pub limit: u32,
    /// The parts of the cursor (the sort key of the previous page's last item), if any.
    pub after: Option<Vec<String>>,
}

impl Page {
    /// Parses `limit` (422 when out of range) and `cursor` (400 when not one of ours).
    pub fn from_query(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = parse_limit(limit).map_err(|e| ApiError::invalid_fields(vec![e]))?;
        let after = match cursor {
            Some(raw) => Some(decode_cursor(raw).ok_or_else(bad_cursor)?),
            None => None,
        };
        Ok(Page { limit, after })
    }

    /// How many rows to fetch for this page: one more than it holds, to learn whether another
    /// page follows.
    pub fn fetch_limit(&self) -> f64 {
        f64::from(self.limit) + 1.0
    }

    /// Cuts `rows` (fetched with [`Page::fetch_limit`]) to this page, with the cursor of the
    /// next page (made by `cursor_of` from this page's last row) when there is one.
    pub fn cut<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let limit = self.limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        (rows, next)
    }

    /// The position after which a list sorted by a text key and then an id continues: the
    /// cursor's two parts, or two empty strings (before everything) without a cursor; 400 for
    /// a cursor of another shape.
    pub fn after_key_and_id(&self) -> Result<(String, String), ApiError> {
        match self.after.as_deref() {
            Some([key, id]) => Ok((key.clone(), id.clone())),
            Some(_) => Err(bad_cursor()),
            None => Ok((String::new(), String::new())),
        }
    }
}

/// The list envelope `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize)]
pub struct Listing<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// The 400 for a cursor this API did not issue.
pub fn bad_cursor() -> ApiError {
    ApiError::bad_field("cursor", "is not a cursor this API issued")
}

/// Parses the `limit` query parameter: absent means [`DEFAULT_LIMIT`], otherwise an integer
/// in `1..=MAX_LIMIT`.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, FieldError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            FieldError::new("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
        })
}

/// An opaque cursor from the parts of a sort key (base64url of a JSON array of strings).
pub fn encode_cursor(parts: &[&str]) -> String {
    B64URL.encode(serde_json::to_vec(parts).unwrap_or_default())
}

/// The parts of a cursor made by [`encode_cursor`]; `None` when it is not one.
pub fn decode_cursor(raw: &str) -> Option<Vec<String>> {
    if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
        return None;
    }
    serde_json::from_slice(&B64URL.decode(raw).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("200")), Ok(200));
        for bad in ["0", "201", "-1", "1.5", "ten", ""] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().field, "limit", "{bad}");
        }
    }

    #[test]
    fn cursors_are_opaque_and_round_trip() {
        let c = encode_cursor(&["2026-12-01T09:00:00Z", "abc"]);
        assert!(!c.contains("abc"));
        assert_eq!(
            decode_cursor(&c),
            Some(vec!["2026-12-01T09:00:00Z".to_string(), "abc".to_string()])
        );
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(decode_cursor(&B64URL.encode("{}")), None);
        assert_eq!(decode_cursor(&encode_cursor(&[&"x".repeat(600)])), None);
    }

    #[test]
    fn page_from_query() {
        let cursor = encode_cursor(&["a", "b"]);
        let page = Page::from_query(Some("10"), Some(&cursor)).unwrap();
        assert_eq!(page.limit, 10);
        assert_eq!(page.after, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(Page::from_query(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page.after_key_and_id().unwrap(), ("a".into(), "b".into()));
        let none = Page::from_query(None, None).unwrap();
        assert_eq!(
            none.after_key_and_id().unwrap(),
            (String::new(), String::new())
        );
        let two = Page::from_query(Some("2"), None).unwrap();
        assert_eq!(two.fetch_limit(), 3.0);
        let cursor_of = |n: &u32| n.to_string();
        assert_eq!(
            two.cut(vec![1, 2, 3], cursor_of),
            (vec![1, 2], Some("2".into()))
        );
        assert_eq!(two.cut(vec![1, 2], cursor_of), (vec![1, 2], None));
        let odd = Page::from_query(None, Some(&encode_cursor(&["a"]))).unwrap();
        assert_eq!(odd.after_key_and_id().unwrap_err().status(), 400);
        assert_eq!(Page::from_query(Some("0"), None).unwrap_err().status(), 422);
        assert_eq!(
            Page::from_query(None, Some("zz")).unwrap_err().status(),
            400
        );
    }
}
