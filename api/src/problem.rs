//! RFC 9457 problem details: the body of every error answer.

use serde::{Deserialize, Serialize};

/// A validation problem with one input field, named by its JSON path (`weekly[2].open`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field (`""` for the whole body).
    pub field: String,
    /// What is wrong, in a sentence fit for an API client.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `application/problem+json`: `{type, title, status, detail, errors?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `https://safemarket.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong with this request, in words.
    #[serde(default)]
    pub detail: String,
    /// The fields at fault (validation problems).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The slug at the end of `type` (`slot-full`).
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or_default()
    }

    /// The message for `field`, when the problem names it.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_and_field_messages() {
        let p: Problem = serde_json::from_str(
            r#"{"type":"https://safemarket.dev/problems/validation-failed","title":"Validation failed","status":422,"detail":"d","errors":[{"field":"weekly[0].close","message":"bad"}]}"#,
        )
        .unwrap();
        assert_eq!(p.slug(), "validation-failed");
        assert_eq!(p.field("weekly[0].close"), Some("bad"));
        assert_eq!(p.field("capacity"), None);
    }
}
