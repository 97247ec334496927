//! Reading the fields of a JSON object one by one, collecting every problem instead of
//! stopping at the first, so a 422 names each bad field at once.

use serde_json::{Map, Value};

use crate::error::FieldError;

/// Whether a field must be present (create) or may be left out (partial update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Absent is an error.
    Required,
    /// Absent means "leave as is".
    Optional,
}

/// Typed access to the fields of one JSON object, with the errors found so far.
pub struct FieldReader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> FieldReader<'a> {
    /// A reader over `map` with no errors yet.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        FieldReader {
            map,
            errors: Vec::new(),
        }
    }

    /// The raw value of `name`; absent is an error only when required, `null` always is
    /// (a field cannot be removed).
    fn value(&mut self, name: &str, presence: Presence) -> Option<&'a Value> {
        match self.map.get(name) {
            None if presence == Presence::Required => self.fail(name, "is required"),
            None => None,
            Some(Value::Null) => self.fail(name, "must not be null"),
            Some(v) => Some(v),
        }
    }

    /// A string field.
    pub fn string(&mut self, name: &str, presence: Presence) -> Option<&'a str> {
        match self.value(name, presence)? {
            Value::String(s) => Some(s.as_str()),
            _ => self.fail(name, "must be a string"),
        }
    }

    /// A number field (JSON numbers are always finite).
    pub fn number(&mut self, name: &str, presence: Presence) -> Option<f64> {
        match self.value(name, presence)? {
            Value::Number(n) => n.as_f64().or_else(|| self.fail(name, "must be a number")),
            _ => self.fail(name, "must be a number"),
        }
    }

    /// Keeps the value of a parse, or records its error.
    pub fn check<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        parsed.map_err(|e| self.errors.push(e)).ok()
    }

    /// Records an error for `name`.
    fn fail<T>(&mut self, name: &str, message: &str) -> Option<T> {
        self.errors.push(FieldError::new(name, message));
        None
    }

    /// `Ok(value)` when no error was recorded, every error otherwise.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            // A `None` without an error would be a bug in the caller; never answer 200 for it.
            _ if self.errors.is_empty() => Err(vec![FieldError::new("body", "is invalid")]),
            _ => Err(self.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn collects_missing_null_and_wrong_types() {
        let m = map(json!({"b": null, "c": 5, "d": "x"}));
        let mut r = FieldReader::new(&m);
        assert_eq!(r.string("a", Presence::Required), None);
        assert_eq!(r.string("b", Presence::Optional), None);
        assert_eq!(r.string("c", Presence::Required), None);
        assert_eq!(r.number("d", Presence::Required), None);
        assert_eq!(r.string("e", Presence::Optional), None);
        let errors = r.finish(Some(())).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b", "c", "d"]);
    }

    #[test]
    fn finish_returns_the_value_without_errors() {
        let m = map(json!({"n": 1.5, "s": "x"}));
        let mut r = FieldReader::new(&m);
        let n = r.number("n", Presence::Required);
        let s = r.string("s", Presence::Required);
        assert_eq!(r.finish(n.zip(s)), Ok((1.5, "x")));
        assert!(FieldReader::new(&m).finish::<()>(None).is_err());
    }
}
