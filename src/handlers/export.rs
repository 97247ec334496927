//! `GET /api/v1/stores/{store_id}/bookings/export?month=YYYY-MM&format=csv|ndjson` (owner):
//! one store-local month of bookings, streamed. Recent bookings come from the store's object
//! (paged, `ExportPage`), archived ones from the R2 history bucket; the engine's
//! [`Merge`] interleaves the two in slot order while holding only what overlaps, so the
//! answer starts at once and any month fits.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use futures_util::stream;
use safemarket_engine::export::{Format, Merge, Need, Step, Unread};
use safemarket_engine::history::{key_first_start, month_prefix, parse_ndjson, Month};
use safemarket_engine::protocol::{ExportPage, EXPORT_PAGE_MAX};
use worker::{Bucket, Env, Headers, Response};

use crate::context::{bindings, Ctx};
use crate::domain::store::StoreRow;
use crate::error::{ApiError, FieldError};
use crate::policy::{self, Action};
use crate::store_client;

/// Bytes gathered before a chunk of the answer is sent.
const CHUNK: usize = 32 * 1024;

/// The month and format parameters, both problems reported at once (422).
fn parse_query(month: Option<&str>, format: Option<&str>) -> Result<(Month, Format), ApiError> {
    let month = match month {
        Some(raw) => Month::parse(raw.trim()).map_err(|e| FieldError::new("month", e.to_string())),
        None => Err(FieldError::new("month", "is required (YYYY-MM)")),
    };
    let format = match format {
        Some(raw) => Format::parse(raw.trim())
            .ok_or_else(|| FieldError::new("format", "must be csv or ndjson")),
        None => Err(FieldError::new("format", "is required (csv or ndjson)")),
    };
    match (month, format) {
        (Ok(m), Ok(f)) => Ok((m, f)),
        (m, f) => Err(ApiError::invalid_fields(
            [m.err(), f.err()].into_iter().flatten().collect(),
        )),
    }
}

/// The handler.
pub async fn export(ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let (month, format) = parse_query(
        ctx.query_param("month").as_deref(),
        ctx.query_param("format").as_deref(),
    )?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &user, Action::ExportBookings).await?;
    let tz = crate::zones::zone(&ctx.env, &store.timezone).await?;
    let (from, to) = month
        .bounds(tz)
        .ok_or_else(|| ApiError::invalid("month", "is not a month in the store's zone"))?;
    let bucket = ctx.env.bucket(bindings::HISTORY)?;
    let headers = Headers::new();
    headers.set("content-type", format.content_type())?;
    let extension = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"bookings-{month}.{extension}\""),
    )?;
    headers.set("cache-control", "no-store")?;
    let export = Export {
        env: ctx.env.clone(),
        bucket,
        prefix: month_prefix(&store.id, month),
        store,
        from,
        to,
        format,
        merge: Merge::new(),
        started: false,
        finished: false,
        object_after: None,
        keys: VecDeque::new(),
        list_cursor: None,
        listed_all: false,
    };
    let body = stream::unfold(export, |mut export| async move {
        if export.finished {
            return None;
        }
        match export.chunk().await {
            Ok(bytes) if bytes.is_empty() => None,
            Ok(bytes) => Some((Ok::<Vec<u8>, worker::Error>(bytes), export)),
            Err(e) => {
                // The status line is sent: a failure can only cut the body short (the client
                // sees a truncated transfer), and the cause goes to the log.
                worker::console_error!(
                    "{}",
                    serde_json::json!({"level": "error", "msg": "export failed", "cause": e.to_string()})
                );
                export.finished = true;
                Some((Err(e), export))
            }
        }
    });
    Ok(Response::from_stream(body)?.with_headers(headers))
}

/// The state of one streamed export.
struct Export {
    env: Env,
    bucket: Bucket,
    store: StoreRow,
    prefix: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    format: Format,
    merge: Merge,
    started: bool,
    finished: bool,
    /// The last booking of the object's last page.
    object_after: Option<(DateTime<Utc>, String)>,
    /// Archive objects listed, not yet opened (in key order: by first slot start).
    keys: VecDeque<String>,
    list_cursor: Option<String>,
    listed_all: bool,
}

fn failed(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

impl Export {
    /// The next part of the body (empty once everything was sent).
    async fn chunk(&mut self) -> worker::Result<Vec<u8>> {
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(&self.format.preamble());
        }
        while out.len() < CHUNK {
            match self.merge.step() {
                Step::Emit(r) => out.push_str(&self.format.line(&r)),
                Step::Finished => {
                    self.finished = true;
                    break;
                }
                Step::Read(Need::Object) => self.read_object().await?,
                Step::Read(Need::Archive) => self.read_archive().await?,
            }
        }
        Ok(out.into_bytes())
    }

    async fn read_object(&mut self) -> worker::Result<()> {
        let page = ExportPage {
            from: self.from,
            to: self.to,
            after: self.object_after.clone(),
            limit: EXPORT_PAGE_MAX,
        };
        let records = store_client::call(&self.env, &self.store, page)
            .await
            .map_err(|e| failed(format!("{e:?}")))?;
        let full = records.len() >= EXPORT_PAGE_MAX as usize;
        self.object_after = records.last().map(|r| (r.slot_start, r.id.clone()));
        let unread = match (&self.object_after, full) {
            (Some((start, id)), true) => Unread::After(*start, id.clone()),
            _ => Unread::Done,
        };
        self.merge.add(records);
        self.merge.object_read(unread);
        Ok(())
    }

    /// Lists the next page of keys when none is waiting, else opens the next object; then
    /// tells the merge where the unopened rest starts.
    async fn read_archive(&mut self) -> worker::Result<()> {
        if self.keys.is_empty() && !self.listed_all {
            let mut list = self.bucket.list().prefix(self.prefix.clone());
            if let Some(cursor) = self.list_cursor.take() {
                list = list.cursor(cursor);
            }
            let listed = list.execute().await?;
            let mut keys: Vec<String> = listed.objects().iter().map(|o| o.key()).collect();
            keys.sort();
            self.keys.extend(keys);
            self.list_cursor = listed.cursor();
            self.listed_all = !listed.truncated() || self.list_cursor.is_none();
        } else if let Some(key) = self.keys.pop_front() {
            let object = self
                .bucket
                .get(key.clone())
                .execute()
                .await?
                .ok_or_else(|| failed(format!("archive object {key} vanished")))?;
            let text = match object.body() {
                Some(body) => body.text().await?,
                None => String::new(),
            };
            self.merge.add(parse_ndjson(&text).map_err(failed)?);
            if self.keys.is_empty() && !self.listed_all {
                // The next listing page starts at or after this object.
                let start = key_first_start(&key).unwrap_or(self.from);
                self.merge.archive_read(Unread::From(start));
                return Ok(());
            }
        }
        let unread = match self.keys.front() {
            Some(next) => Unread::From(key_first_start(next).unwrap_or(self.from)),
            None if self.listed_all => Unread::Done,
            None => Unread::From(self.from),
        };
        self.merge.archive_read(unread);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_months_and_formats_are_422s_naming_each_field() {
        assert!(parse_query(Some("2026-12"), Some("csv")).is_ok());
        assert!(parse_query(Some("2026-12"), Some("ndjson")).is_ok());
        assert_eq!(
            fields(parse_query(Some("2026-13"), Some("xlsx")).unwrap_err()),
            ["month", "format"]
        );
        assert_eq!(
            fields(parse_query(None, Some("csv")).unwrap_err()),
            ["month"]
        );
        assert_eq!(
            fields(parse_query(Some("2026-01"), None).unwrap_err()),
            ["format"]
        );
    }
}
