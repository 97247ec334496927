//! A small blocking HTTP client for the API under test.

use std::time::Duration;

use serde_json::Value;
use ureq::Agent;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Raw body text.
    pub text: String,
}

impl Resp {
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Panics with the whole response unless the status is `expected`.
    #[track_caller]
    pub fn expect_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status, expected,
            "expected HTTP {expected}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Asserts this is an RFC 9457 problem with `status` and the given type slug.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, slug: &str) -> Value {
        self.expect_status(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(
            body["type"],
            format!("https://safemarket.dev/problems/{slug}"),
            "problem type: {}",
            self.text
        );
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string() && body["detail"].is_string());
        body
    }
}

/// A client bound to one server base URL, with an optional bearer token.
#[derive(Clone)]
pub struct Api {
    agent: Agent,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for `base` (e.g. `http://127.0.0.1:8787`).
    pub fn new(base: &str) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections(0)
            .build()
            .into();
        Api {
            agent,
            base: base.trim_end_matches('/').to_string(),
            token: None,
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> Self {
        Api {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, or `None` when the server does not answer at all.
    pub fn try_get(&self, path: &str) -> Option<Resp> {
        self.send("GET", path, &[], None).ok()
    }

    /// Sends a request with optional raw body and extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Resp, ureq::Error> {
        let uri = format!("{}{}", self.base, path);
        let mut builder = ureq::http::Request::builder().method(method).uri(&uri);
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut resp = match body {
            Some((content_type, bytes)) => {
                let req = builder
                    .header("content-type", content_type)
                    .body(bytes.to_vec())?;
                self.agent.run(req)?
            }
            None => {
                let req = builder.body(())?;
                self.agent.run(req)?
            }
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let text = resp.body_mut().read_to_string()?;
        Ok(Resp {
            status,
            headers,
            text,
        })
    }

    /// Sends and panics on transport errors (the server must always answer).
    #[track_caller]
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let body = bytes.as_deref().map(|b| ("application/json", b));
        match self.send(method, path, headers, body) {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: transport error {e}"),
        }
    }

    /// `GET path`.
    #[track_caller]
    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], None)
    }

    /// `POST path` with a JSON body.
    #[track_caller]
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.request("POST", path, &[], Some(body))
    }

    /// `PUT path` with a JSON body.
    #[track_caller]
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.request("PUT", path, &[], Some(body))
    }

    /// `PATCH path` with a JSON body.
    #[track_caller]
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.request("PATCH", path, &[], Some(body))
    }

    /// `DELETE path`.
    #[track_caller]
    pub fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, &[], None)
    }

    /// Sends raw bytes with a content type (for malformed-body tests).
    #[track_caller]
    pub fn raw(&self, method: &str, path: &str, content_type: &str, bytes: &[u8]) -> Resp {
        match self.send(method, path, &[], Some((content_type, bytes))) {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: transport error {e}"),
        }
    }
}
