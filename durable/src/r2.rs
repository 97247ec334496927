//! Writes to the R2 history archive, shared by the store object's archival and the Worker's
//! drain of the old D1 history table.

use worker::{Bucket, HttpMetadata};

/// Puts one NDJSON object of archived bookings at `key` (a retry overwrites the same key).
pub async fn put_ndjson(bucket: &Bucket, key: String, body: String) -> Result<(), String> {
    bucket
        .put(key, body)
        .http_metadata(HttpMetadata {
            content_type: Some("application/x-ndjson".into()),
            ..Default::default()
        })
        .execute()
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
