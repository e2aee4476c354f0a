//! The delivery workers: claim due deliveries, sign and send them (bounded concurrency, overall
//! and per host), record each outcome (successes in batches, `delivery::recorder`), back off on
//! failure. A request left unanswered for `delivery.stalled_after_seconds` gives its overall
//! slot to the next delivery, so hosts that hang do not hold back those that answer.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use chrono::Utc;
use rand::Rng;
use sea_orm::{DbErr, EntityTrait};
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use url::Url;

use super::{
    metrics,
    queue::{self, Claimed, Outcome},
    recorder::Recorder,
};
use crate::{
    db::entity::{activity, delivery},
    domain::retry::{Next, Schedule, is_retryable_status},
    federation::client::{Payload, SendOutcome},
    state::AppState,
};

/// One process's delivery engine.
#[derive(Clone)]
pub struct Worker {
    state: AppState,
    id: String,
    global: Arc<Semaphore>,
    /// Places for requests that stalled and gave their global permit back: a bound on how
    /// many requests (sockets, buffers, tasks) can be open at once, `max_concurrency * 4`.
    stalled: Arc<Semaphore>,
    /// Places for sends whose answer is in and whose outcome is being recorded: they give
    /// their global slot back as soon as the other server answered (the network part is
    /// over), and this bounds what was sent but is not yet recorded, `max_concurrency * 4`.
    recording: Arc<Semaphore>,
    /// Signalled when a send gives its global permit back before its task ends (its request
    /// stalled, or was answered and is being recorded), so the loop claims more at once
    /// instead of when a task ends or at the next poll.
    freed: Arc<Notify>,
    stalled_after: Duration,
    in_flight_per_host: Arc<Mutex<HashMap<String, usize>>>,
    /// When parked deliveries past the horizon were last given up (a sweep, not per claim).
    last_expiry: Arc<Mutex<Option<Instant>>>,
    /// Activity bodies with their digest (and who signs them) by id: a fan-out to a thousand
    /// inboxes reads its body and computes its `Digest` once.
    payloads: Arc<Mutex<HashMap<i64, (i64, Payload)>>>,
    /// Records successes in batches (`delivery::recorder`).
    recorder: Recorder,
    /// How many slots must be free, while sends are under way, before the worker claims again
    /// (`claim_batch`).
    claim_batch: usize,
}

/// How many bodies stay cached; a fan-out uses one at a time, so this is generous.
const PAYLOAD_CACHE: usize = 64;

/// Stalled requests allowed per global slot.
const STALLED_PER_SLOT: usize = 4;

/// Sends being recorded allowed per global slot.
const RECORDING_PER_SLOT: usize = 4;

/// The permits one send holds: its global slot and its host's until its request stalls (then
/// a stalled place instead of the global slot, when one is free) or is answered (then a
/// recording place instead of both).
struct Slot {
    global: Option<OwnedSemaphorePermit>,
    stalled: Option<OwnedSemaphorePermit>,
    host: Option<HostPlace>,
    recording: Option<OwnedSemaphorePermit>,
}

/// One of a host's `max_per_host` places, given back when dropped.
struct HostPlace {
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    host: String,
}

impl Drop for HostPlace {
    fn drop(&mut self) {
        if let Ok(mut map) = self.in_flight.lock()
            && let Some(n) = map.get_mut(&self.host)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.host);
            }
        }
    }
}

impl Worker {
    pub fn new(state: AppState) -> Worker {
        let permits = state.settings.delivery.max_concurrency;
        Worker {
            id: format!(
                "{}-{}",
                std::process::id(),
                crate::service::outbox::new_activity_id()
            ),
            global: Arc::new(Semaphore::new(permits)),
            stalled: Arc::new(Semaphore::new(permits.saturating_mul(STALLED_PER_SLOT))),
            recording: Arc::new(Semaphore::new(permits.saturating_mul(RECORDING_PER_SLOT))),
            freed: Arc::new(Notify::new()),
            stalled_after: Duration::try_from_secs_f64(
                state.settings.delivery.stalled_after_seconds,
            )
            .unwrap_or(Duration::from_secs(2)),
            in_flight_per_host: Arc::new(Mutex::new(HashMap::new())),
            payloads: Arc::new(Mutex::new(HashMap::new())),
            last_expiry: Arc::new(Mutex::new(None)),
            recorder: Recorder::start(state.batch_db.clone()),
            claim_batch: claim_batch(permits),
            state,
        }
    }

    /// The connection the queue's statements go through — claims, releases, outcomes, hosts,
    /// an activity's body — the one the recorder batches on (`AppState::batch_db`). On SQLite
    /// that is one connection: its page cache stays warm between statements (the main pool
    /// hands its connections out in turn, each finding its cache made stale by the recorder's
    /// commits), a claim waits its turn instead of sleeping in SQLite's busy handler, and
    /// deliveries never wait for the main pool, which a burst of page reads can take whole.
    /// On PostgreSQL, the main pool.
    fn writer(&self) -> &sea_orm::DatabaseConnection {
        &self.state.batch_db
    }

    fn schedule(&self) -> Schedule {
        let d = &self.state.settings.delivery;
        Schedule {
            initial: Duration::from_secs_f64(d.retry_initial_seconds),
            max_delay: Duration::from_secs_f64(d.retry_max_delay_seconds),
            give_up_after: Duration::from_secs_f64(d.give_up_after_hours * 3600.0),
        }
    }

    fn saturated_hosts(&self) -> Vec<String> {
        let max = self.state.settings.delivery.max_per_host;
        self.in_flight_per_host
            .lock()
            .map(|map| {
                map.iter()
                    .filter(|(_, n)| **n >= max)
                    .map(|(h, _)| h.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes a place for `host` unless it is full.
    fn reserve_host(&self, host: &str) -> Option<HostPlace> {
        let max = self.state.settings.delivery.max_per_host;
        let mut map = self.in_flight_per_host.lock().ok()?;
        let n = map.entry(host.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(HostPlace {
            in_flight: self.in_flight_per_host.clone(),
            host: host.to_string(),
        })
    }

    /// Gives up parked deliveries past the horizon, at most once a minute: it is a sweep over
    /// the queue, not something each claim needs.
    async fn expire_parked_now_and_then(&self) -> Result<(), DbErr> {
        const EVERY: Duration = Duration::from_secs(60);
        let due = self
            .last_expiry
            .lock()
            .map(|mut last| {
                let due = last.is_none_or(|at| at.elapsed() >= EVERY);
                if due {
                    *last = Some(Instant::now());
                }
                due
            })
            .unwrap_or(true);
        if due {
            queue::expire_parked(self.writer(), Utc::now(), self.schedule().give_up_after).await?;
        }
        Ok(())
    }

    /// Claims as many due deliveries as there are free slots and starts sending them.
    /// Returns how many were started. While sends are under way, it waits until a batch of
    /// slots is free ([`claim_batch`]) rather than claim one row per finished send: a claim is
    /// a write transaction, and a fan-out to a thousand inboxes would otherwise make a
    /// thousand of them.
    async fn fill(&self, tasks: &mut JoinSet<()>) -> Result<usize, DbErr> {
        self.expire_parked_now_and_then().await?;
        let free = self.global.available_permits();
        if free == 0 || (!tasks.is_empty() && free < self.claim_batch) {
            return Ok(0);
        }
        let lease = Duration::from_secs(
            u64::try_from(self.state.settings.delivery.lease_seconds).unwrap_or(60),
        );
        let claimed = queue::claim(
            self.writer(),
            &self.id,
            Utc::now(),
            lease,
            free as u64,
            &self.saturated_hosts(),
        )
        .await?;
        let mut started = 0;
        for row in claimed {
            let Ok(permit) = self.global.clone().try_acquire_owned() else {
                release(self.writer(), &row).await?;
                continue;
            };
            let Some(host) = self.reserve_host(&row.host) else {
                // This batch held more rows for one host than it may take at once: give the
                // rest back now rather than let their lease run out while they wait.
                release(self.writer(), &row).await?;
                continue;
            };
            let worker = self.clone();
            tasks.spawn(async move {
                let mut slot = Slot {
                    global: Some(permit),
                    stalled: None,
                    host: Some(host),
                    recording: None,
                };
                if let Err(err) = worker.send(&row, &mut slot).await {
                    tracing::error!(delivery.id = row.id, error = %err, "recording a delivery failed; its lease will expire and it will be retried");
                }
                drop(slot);
            });
            started += 1;
        }
        Ok(started)
    }

    async fn payload(&self, activity_id: i64) -> Result<Option<(i64, Payload)>, DbErr> {
        let cached = self
            .payloads
            .lock()
            .ok()
            .and_then(|m| m.get(&activity_id).cloned());
        if let Some(found) = cached {
            return Ok(Some(found));
        }
        let Some(row) = activity::Entity::find_by_id(activity_id)
            .one(self.writer())
            .await?
        else {
            return Ok(None);
        };
        let found = (row.actor_id, Payload::new(Bytes::from(row.payload)));
        if let Ok(mut cache) = self.payloads.lock() {
            if cache.len() >= PAYLOAD_CACHE {
                cache.clear();
            }
            cache.insert(activity_id, found.clone());
        }
        Ok(Some(found))
    }

    /// Waits for `request`; if it is still unanswered after `stalled_after`, gives the global
    /// permit back (taking a stalled place instead) and keeps waiting. The request's own
    /// timeout still ends it; its per-host slot is kept, so a hanging host gets no more.
    async fn watch<F: std::future::Future>(&self, slot: &mut Slot, request: F) -> F::Output {
        tokio::pin!(request);
        tokio::select! {
            out = &mut request => return out,
            () = tokio::time::sleep(self.stalled_after) => {}
        }
        // No stalled place free: keep the global permit rather than let open requests grow
        // without bound.
        if let Ok(place) = self.stalled.clone().try_acquire_owned() {
            slot.stalled = Some(place);
            slot.global = None;
            self.freed.notify_one();
        }
        request.await
    }

    /// The other server answered (or the request failed): the send gives its global and
    /// per-host places back and takes a recording place while its outcome is written, so
    /// the next deliveries start without waiting for the recorder's batch to commit (20 ms
    /// of lingering, when a slot is busy for a fraction of a millisecond otherwise). With no
    /// recording place free it keeps its places until one is: what was sent and not yet
    /// recorded stays bounded.
    async fn answered(&self, slot: &mut Slot) {
        if let Ok(place) = self.recording.clone().acquire_owned().await {
            slot.recording = Some(place);
            slot.global = None;
            slot.stalled = None;
            slot.host = None;
            self.freed.notify_one();
        }
    }

    /// One attempt: sign, send, record.
    async fn send(&self, row: &Claimed, slot: &mut Slot) -> Result<(), DbErr> {
        let db = self.writer();
        let Some((signer, body)) = self.payload(row.activity_id).await? else {
            let outcome = Outcome::Failed {
                status: None,
                error: "the activity no longer exists".into(),
            };
            return queue::record(db, row, &outcome, Utc::now()).await;
        };
        // Never sent, and said why on the admin's delivery page.
        let refused = match Url::parse(&row.inbox) {
            Ok(url) => match self.state.fetcher.check_url(&url) {
                Ok(()) => Ok(url),
                Err(err) => Err(err.to_string()),
            },
            Err(err) => Err(format!("inbox URL is not a URL: {err}")),
        };
        let inbox = match refused {
            Ok(url) => url,
            Err(error) => {
                let outcome = Outcome::Failed {
                    status: None,
                    error,
                };
                return queue::record(db, row, &outcome, Utc::now()).await;
            }
        };
        let started = Instant::now();
        let result = match self.state.signers.get(&self.state, signer).await {
            Ok(client) => match client.signed_post(&inbox, body).await {
                Ok(request) => Ok(self.watch(slot, client.send_signed(request)).await),
                Err(err) => Err(err),
            },
            Err(err) => Ok(SendOutcome::Unreachable(format!("no signing key: {err}"))),
        };
        metrics::observe_send(started.elapsed());
        self.answered(slot).await;
        let now = Utc::now();
        let (status, error) = match result {
            Ok(SendOutcome::Status(status)) if (200..300).contains(&status) => {
                self.recorder.delivered(row, status).await?;
                metrics::count(metrics::DELIVERED);
                return Ok(());
            }
            Ok(SendOutcome::Status(status)) if !is_retryable_status(status) => {
                // The server answered and refused for good (404, 410…): it is up, the
                // delivery is over.
                let outcome = Outcome::Failed {
                    status: Some(status),
                    error: format!("refused with status {status}"),
                };
                queue::record(db, row, &outcome, now).await?;
                queue::host_succeeded(db, &row.host, now).await?;
                metrics::count(metrics::FAILED);
                return Ok(());
            }
            Ok(SendOutcome::Status(status)) => (Some(status), format!("status {status}")),
            Ok(SendOutcome::Unreachable(error)) => (None, error),
            Err(err) => (None, err.to_string()),
        };
        let age = (now - row.created_at).to_std().unwrap_or_default();
        let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        let outcome = match self.schedule().after_failure(attempts, age, jitter) {
            Next::RetryIn(delay) => Outcome::Retry {
                status,
                error: error.clone(),
                at: now
                    + chrono::Duration::from_std(delay)
                        .unwrap_or_else(|_| chrono::Duration::hours(1)),
            },
            Next::GiveUp => Outcome::Failed {
                status,
                error: format!("gave up after {attempts} attempts: {error}"),
            },
        };
        queue::record(db, row, &outcome, now).await?;
        metrics::count(if matches!(outcome, Outcome::Failed { .. }) {
            metrics::FAILED
        } else {
            metrics::RETRIED
        });
        // Only silence or server errors say the host is down; 401/408/429 come from a live one.
        if status.is_none_or(|s| s >= 500) {
            let unreachable_after = Duration::from_secs_f64(
                self.state.settings.delivery.unreachable_after_hours * 3600.0,
            );
            queue::host_failed(db, &row.host, &error, now, unreachable_after).await?;
        }
        tracing::info!(inbox = %row.inbox, delivery.attempt = attempts, error = %error, "delivery failed");
        Ok(())
    }

    /// Sends everything due now and waits until it is done (retries scheduled later are left
    /// for later). Tests and benchmarks drive the queue with this instead of sleeping.
    pub async fn drain(&self) -> Result<(), DbErr> {
        let mut tasks = JoinSet::new();
        loop {
            let started = self.fill(&mut tasks).await?;
            if started == 0 && tasks.is_empty() {
                return Ok(());
            }
            // Claim again as soon as a send ends, or shortly: a retry may fall due while a slow
            // request is still in flight.
            tokio::select! {
                _ = tasks.join_next(), if !tasks.is_empty() => {}
                () = self.freed.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
    }

    /// Runs until `shutdown` resolves: claims whenever slots free up, something is queued
    /// (wakeup) or the poll interval passes. In-flight sends finish before it returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let poll = Duration::from_millis(self.state.settings.delivery.poll_interval_ms);
        let wakeup = self.state.delivery_wakeup.clone();
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            if let Err(err) = self.fill(&mut tasks).await {
                tracing::error!(error = %err, "claiming deliveries failed; retrying");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = wakeup.notified() => {}
                () = self.freed.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
        // What was claimed is sent; what was not stays queued for the next start.
        while tasks.join_next().await.is_some() {}
    }
}

/// How many slots must be free, while sends are under way, before the worker claims again:
/// an eighth of `max_concurrency`. The slots left idle meanwhile cost little (a send spends most
/// of its time waiting for the other server), and the claims are an eighth as many.
fn claim_batch(max_concurrency: usize) -> usize {
    (max_concurrency / 8).max(1)
}

/// Gives a claimed row back untouched.
async fn release(db: &sea_orm::DatabaseConnection, row: &Claimed) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(None::<chrono::DateTime<Utc>>),
        )
        .col_expr(delivery::Column::LeasedBy, Expr::value(None::<String>))
        .filter(delivery::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}
