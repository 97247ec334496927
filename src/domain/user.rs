//! Users: emails, passwords, display names, device ids, and the public user representation.

use crate::error::FieldError;

/// A normalised (trimmed, lower-cased) email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Normalises and checks `raw`; `field` names it in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = |m: &str| Err(FieldError::new(field, m));
        if email.is_empty() || email.len() > 254 {
            return invalid("must be an email address of at most 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("must be an email address like name@example.com");
        };
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@';
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.len() <= 253;
        if local.is_empty()
            || local.len() > 64
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
            || !domain_ok
        {
            return invalid("must be an email address like name@example.com");
        }
        Ok(Email(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of acceptable strength (10..=1024 characters).
pub struct Password(String);

impl Password {
    /// Minimum length in characters (API.md: weak passwords are shorter than 10).
    pub const MIN_CHARS: usize = 10;

    /// Checks the length; the password itself is never trimmed or normalised.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                "password",
                "must be at least 10 characters long",
            ));
        }
        if raw.len() > 1024 {
            return Err(FieldError::new(
                "password",
                "must be at most 1024 bytes long",
            ));
        }
        Ok(Password(raw.to_string()))
    }

    /// The password bytes (for hashing only).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A display name: trimmed, 1..=100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "display_name",
                "must be 1 to 100 characters without control characters",
            ));
        }
        Ok(DisplayName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A device identifier of the customer app: 1..=128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceId(String);

impl DeviceId {
    /// Parses a device id; `field` names it in the error (`device_id` or legacy `deviceId`).
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let id = raw.trim();
        if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(FieldError::new(
                field,
                "must be 1 to 128 visible ASCII characters",
            ));
        }
        Ok(DeviceId(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use safemarket_api::auth::{User, UserKind};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised() {
        let e = Email::parse("  Alice@Example.COM ", "email").unwrap();
        assert_eq!(e.as_str(), "alice@example.com");
    }

    #[test]
    fn bad_emails_are_rejected() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@example.com",
            "alice@.example.com",
            "alice@example..com",
        ] {
            let err = Email::parse(bad, "email").unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long, "email").is_err());
    }

    #[test]
    fn password_needs_ten_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse("1234567890").is_ok());
        // Characters, not bytes: ten umlauts are ten characters.
        assert!(Password::parse("ääääääääää").is_ok());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn display_name_and_device_id() {
        assert_eq!(DisplayName::parse("  Ann ").unwrap().as_str(), "Ann");
        assert!(DisplayName::parse(" ").is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
        assert!(DeviceId::parse("abc-123", "device_id").is_ok());
        assert!(DeviceId::parse("", "device_id").is_err());
        assert!(DeviceId::parse("a b", "device_id").is_err());
        assert_eq!(
            DeviceId::parse("ä", "deviceId").unwrap_err().field,
            "deviceId"
        );
    }
}
