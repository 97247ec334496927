//! The queue consumer (`#[event(queue)]`): fans each event out to the store's webhooks that
//! subscribe to it and delivers it, signed, to each; a failed delivery becomes a retry message
//! for that webhook alone (so a broken receiver never makes the good ones hear an event twice),
//! sent with the next delay of [`retries`](super::retries), and after the last attempt a
//! message on the dead-letter queue. Every attempt is logged to the webhook's deliveries log.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use worker::{
    AbortController, D1Database, Env, Fetch, Headers, MessageBatch, MessageBuilder, MessageExt,
    Method, QueueContentType, RawMessage, Request, RequestInit, RequestRedirect,
};

use super::retries::{delay_after, MAX_ATTEMPTS};
use super::signing::signature;
use super::target::Targets;
use super::{event_body, targets, QueueMessage, Retry, DEAD_LETTERS_QUEUE, EVENTS_QUEUE};
use crate::clock;
use crate::context::bindings;
use crate::geocoder::within;
use crate::repo::webhooks::{self as repo, Attempt, WebhookRow};
use safemarket_engine::events::EventRecord;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Sent as `user-agent`.
const USER_AGENT: &str = "SafeMarket-Webhooks/1";

fn log(level: &str, msg: &str, detail: serde_json::Value) {
    worker::console_log!("{}", json!({"level": level, "msg": msg, "detail": detail}));
}

/// Handles one batch: every message is acknowledged or retried on its own.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> worker::Result<()> {
    let db = env.d1(bindings::DB)?;
    let targets = targets(&env);
    let work = batch
        .raw_iter()
        .map(|message| handle(message, &env, &db, targets));
    join_all(work).await;
    Ok(())
}

async fn handle(message: RawMessage, env: &Env, db: &D1Database, targets: Targets) {
    let parsed = message
        .body()
        .as_string()
        .ok_or_else(|| "not a text message".to_string())
        .and_then(|text| serde_json::from_str::<QueueMessage>(&text).map_err(|e| e.to_string()));
    let outcome = match parsed {
        Ok(QueueMessage::Event(record)) => fan_out(&record, env, db, targets).await,
        Ok(QueueMessage::Retry { retry }) => redeliver(retry, env, db, targets).await,
        Err(e) => {
            // Nothing will ever read it: drop it rather than retry it forever.
            log("error", "unreadable queue message dropped", json!(e));
            Ok(())
        }
    };
    match outcome {
        Ok(()) => message.ack(),
        Err(e) => {
            // The queue tries the whole message again (and dead-letters it in the end).
            log(
                "error",
                "webhook message failed; the queue retries it",
                json!(e),
            );
            message.retry();
        }
    }
}

/// The first delivery of a new event to each subscribed webhook, concurrently.
async fn fan_out(
    record: &EventRecord,
    env: &Env,
    db: &D1Database,
    targets: Targets,
) -> Result<(), String> {
    let event_type = record.event.event_type.as_str();
    let hooks: Vec<WebhookRow> = repo::all_of_store(db, &record.store_id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|w| w.wants(record.event.event_type))
        .collect();
    if hooks.is_empty() {
        return Ok(());
    }
    let body = event_body(record).map_err(|e| e.to_string())?;
    let jobs: Vec<Retry> = hooks
        .iter()
        .map(|w| Retry {
            webhook_id: w.id.clone(),
            event_id: record.event.id.clone(),
            event_type: event_type.to_string(),
            body: body.clone(),
            attempt: 1,
        })
        .collect();
    let results = join_all(
        hooks
            .iter()
            .zip(&jobs)
            .map(|(hook, job)| attempt(hook, job, targets)),
    )
    .await;
    settle(env, db, &jobs, &results).await
}

/// A retry of one delivery; a webhook deleted meanwhile gets nothing more.
async fn redeliver(job: Retry, env: &Env, db: &D1Database, targets: Targets) -> Result<(), String> {
    let Some(hook) = repo::by_id(db, &job.webhook_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let result = attempt(&hook, &job, targets).await;
    settle(env, db, std::slice::from_ref(&job), &[result]).await
}

/// Logs the attempts and schedules the next try of each failed one.
async fn settle(
    env: &Env,
    db: &D1Database,
    jobs: &[Retry],
    results: &[Outcome],
) -> Result<(), String> {
    let at = clock::now_rfc3339();
    let attempts: Vec<Attempt<'_>> = jobs
        .iter()
        .zip(results)
        .map(|(job, result)| Attempt {
            webhook_id: &job.webhook_id,
            event_id: &job.event_id,
            event_type: &job.event_type,
            attempt: job.attempt,
            status_code: result.status,
            error: result.error.as_deref(),
            at: &at,
        })
        .collect();
    if let Err(e) = repo::log_attempts(db, &attempts).await {
        // The log is for people; a failure to write it must not re-deliver anything.
        log("warn", "cannot log webhook attempts", json!(e.to_string()));
    }
    for (job, result) in jobs.iter().zip(results) {
        if result.delivered() {
            continue;
        }
        let next = Retry {
            attempt: job.attempt + 1,
            ..job.clone()
        };
        let text = serde_json::to_string(&QueueMessage::Retry { retry: next })
            .map_err(|e| e.to_string())?;
        let sent = match delay_after(job.attempt) {
            Some(delay) => {
                let queue = env.queue(EVENTS_QUEUE).map_err(|e| e.to_string())?;
                queue
                    .send(
                        MessageBuilder::new(text)
                            .delay_seconds(delay)
                            .content_type(QueueContentType::Text)
                            .build(),
                    )
                    .await
            }
            None => {
                log(
                    "warn",
                    "webhook delivery gave up after every attempt",
                    json!({"webhook_id": job.webhook_id, "event_id": job.event_id,
                           "attempts": MAX_ATTEMPTS}),
                );
                let queue = env.queue(DEAD_LETTERS_QUEUE).map_err(|e| e.to_string())?;
                queue
                    .send(
                        MessageBuilder::new(text)
                            .content_type(QueueContentType::Text)
                            .build(),
                    )
                    .await
            }
        };
        sent.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What one attempt came to.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(error: impl Into<String>) -> Self {
        Outcome {
            status: None,
            error: Some(error.into()),
        }
    }
}

/// One signed POST of `job` to `hook`: no redirects followed, 10 s at most, the response
/// body never read.
async fn attempt(hook: &WebhookRow, job: &Retry, targets: Targets) -> Outcome {
    // Checked again: the rules (or the deployment's loopback setting) may have changed.
    if let Err(reason) = targets.check(&hook.url) {
        return Outcome::failed(format!("target refused: url {reason}"));
    }
    let timestamp = clock::unix_now();
    let Some(sig) = signature(&hook.secret, &job.event_id, timestamp, &job.body) else {
        return Outcome::failed("stored secret unreadable");
    };
    let request = match signed_request(&hook.url, job, timestamp, &sig) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(format!("cannot build request: {e}")),
    };
    let controller = AbortController::default();
    let signal = controller.signal();
    match within(TIMEOUT, Fetch::Request(request).send_with_signal(&signal)).await {
        Some(Ok(resp)) => Outcome {
            status: Some(resp.status_code()),
            error: None,
        },
        Some(Err(e)) => Outcome::failed(format!("request failed: {e}")),
        None => {
            controller.abort();
            Outcome::failed("timeout: no answer within 10 s")
        }
    }
}

fn signed_request(url: &str, job: &Retry, timestamp: i64, sig: &str) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("user-agent", USER_AGENT)?;
    headers.set("webhook-id", &job.event_id)?;
    headers.set("webhook-timestamp", &timestamp.to_string())?;
    headers.set("webhook-signature", sig)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(job.body.clone().into()));
    init.redirect = RequestRedirect::Manual;
    Request::new_with_init(url, &init)
}
