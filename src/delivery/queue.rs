//! The delivery queue table: enqueueing (inside the caller's transaction), claiming due rows with
//! a lease, and recording outcomes; plus the state of each remote host.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query},
};
use url::Url;

use crate::db::entity::{
    activity,
    delivery::{self, DELIVERED, FAILED, PARKED, PENDING},
    follower::STATE_ACCEPTED,
    remote_host::{self, REACHABLE, UNREACHABLE},
};
use crate::db::in_list;

/// The host (with a non-default port) a delivery goes to: the unit of per-host limits and of
/// reachability.
pub fn host_of(inbox: &Url) -> String {
    let host = inbox.host_str().unwrap_or_default().to_ascii_lowercase();
    match inbox.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Queues `activity_id` for each inbox (duplicates ignored). Call inside the transaction of the
/// change that caused the activity: committed means it will be delivered. Deliveries to hosts
/// known to be unreachable start parked.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    activity_id: i64,
    inboxes: impl IntoIterator<Item = Url>,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let mut inboxes: Vec<Url> = inboxes.into_iter().collect();
    inboxes.sort();
    inboxes.dedup();
    if inboxes.is_empty() {
        return Ok(0);
    }
    let count = inboxes.len();
    // One statement per thousand inboxes, two parameters each: what is the same for every row
    // (the activity, the time, the state unless the host is unreachable) is written once.
    // Building 12 values per row through the query builder cost more than the insert itself.
    let backend = txn.get_database_backend();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    for chunk in inboxes.chunks(1000) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(2 + 2 * chunk.len());
        values.push(activity_id.into());
        values.push(now.into());
        let mut rows = String::with_capacity(chunk.len() * 12);
        for inbox in chunk {
            if !rows.is_empty() {
                rows.push(',');
            }
            values.push(inbox.to_string().into());
            let inbox_at = values.len();
            values.push(host_of(inbox).into());
            rows.push_str(&format!(
                "({}, {})",
                placeholder(inbox_at),
                placeholder(inbox_at + 1)
            ));
        }
        // `WHERE true`: SQLite needs it to tell an upsert's ON CONFLICT from a join's ON.
        let sql = format!(
            "INSERT INTO delivery (activity_id, inbox_url, host, state, attempts, \
             next_attempt_at, created_at) \
             SELECT {activity}, v.column1, v.column2, \
             CASE WHEN v.column2 IN (SELECT host FROM remote_host WHERE state = '{UNREACHABLE}') \
             THEN '{PARKED}' ELSE '{PENDING}' END, 0, {now}, {now} \
             FROM (VALUES {rows}) AS v WHERE true \
             ON CONFLICT (activity_id, inbox_url) DO NOTHING",
            activity = placeholder(1),
            now = placeholder(2),
        );
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(count)
}

/// Queues `activity_id` for the accepted followers of `local_actor_id`, one delivery per
/// inbox (shared inboxes preferred, duplicates ignored), in one statement that reads the
/// followers and writes the rows inside the database: nothing goes through the application.
/// The host is the inbox URL's authority, which is [`host_of`] for the normalised URLs Tribune
/// stores. Returns how many rows were added.
pub async fn enqueue_followers(
    txn: &impl ConnectionTrait,
    activity_id: i64,
    local_actor_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    let (placeholders, authority) = match backend {
        DbBackend::Postgres => (
            ["$1", "$2", "$3"],
            "split_part(substr(inbox, strpos(inbox, '://') + 3), '/', 1)",
        ),
        _ => (
            ["?1", "?2", "?3"],
            "substr(substr(inbox, instr(inbox, '://') + 3), 1, \
             instr(substr(inbox, instr(inbox, '://') + 3) || '/', '/') - 1)",
        ),
    };
    let [activity, at, actor] = placeholders;
    // `WHERE true`: SQLite needs it to tell an upsert's ON CONFLICT from a join's ON.
    let sql = format!(
        "INSERT INTO delivery (activity_id, inbox_url, host, state, attempts, \
         next_attempt_at, created_at) \
         SELECT {activity}, inbox, host, \
         CASE WHEN host IN (SELECT host FROM remote_host WHERE state = '{UNREACHABLE}') \
         THEN '{PARKED}' ELSE '{PENDING}' END, 0, {at}, {at} \
         FROM (SELECT inbox, lower({authority}) AS host FROM \
         (SELECT DISTINCT COALESCE(shared_inbox_url, inbox_url) AS inbox FROM follower \
         WHERE local_actor_id = {actor} AND state = '{STATE_ACCEPTED}') AS i) AS f \
         WHERE true ON CONFLICT (activity_id, inbox_url) DO NOTHING"
    );
    let done = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [activity_id.into(), now.into(), local_actor_id.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// A claimed delivery.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub activity_id: i64,
    pub inbox: String,
    pub host: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries for `worker` until `now + lease`, skipping hosts in
/// `skip_hosts` (already at their concurrency limit here). On PostgreSQL the candidate rows are
/// locked with `FOR UPDATE SKIP LOCKED`, so concurrent processes claim disjoint rows; on SQLite
/// the single writer serialises claims. A row whose lease expired (its worker died) is due again.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
    skip_hosts: &[String],
) -> Result<Vec<Claimed>, DbErr> {
    use delivery::Column as C;
    let lease_until =
        now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
    let mut candidates = Query::select();
    candidates
        .column(C::Id)
        .from(delivery::Entity)
        .and_where(Expr::col(C::State).eq(PENDING))
        .and_where(Expr::col(C::NextAttemptAt).lte(now))
        .cond_where(
            Condition::any()
                .add(Expr::col(C::LeaseUntil).is_null())
                .add(Expr::col(C::LeaseUntil).lt(now)),
        )
        .order_by(C::NextAttemptAt, sea_orm::Order::Asc)
        .order_by(C::Id, sea_orm::Order::Asc)
        .limit(limit);
    if !skip_hosts.is_empty() {
        candidates.and_where(Expr::col(C::Host).is_not_in(in_list(skip_hosts.iter().cloned())));
    }
    if db.get_database_backend() == DbBackend::Postgres {
        candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = delivery::Entity::update_many()
        .col_expr(C::LeaseUntil, Expr::value(Some(lease_until)))
        .col_expr(C::LeasedBy, Expr::value(Some(worker.to_string())))
        .filter(C::Id.in_subquery(candidates))
        .exec_with_returning(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Claimed {
            id: row.id,
            activity_id: row.activity_id,
            inbox: row.inbox_url,
            host: row.host,
            attempts: row.attempts,
            created_at: row.created_at,
        })
        .collect())
}

/// The end of an attempt that did not succeed (successes: [`record_delivered`]).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Refused for good (e.g. 404, 410) or given up after the horizon.
    Failed { status: Option<u16>, error: String },
    Retry {
        status: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
}

fn truncated(text: &str) -> String {
    text.chars().take(480).collect()
}

/// Records the outcome of an attempt and releases the lease.
pub async fn record(
    db: &impl ConnectionTrait,
    claimed: &Claimed,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use delivery::Column as C;
    let attempts = claimed.attempts + 1;
    let mut update = delivery::Entity::update_many()
        .col_expr(C::Attempts, Expr::value(attempts))
        .col_expr(C::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(C::LeasedBy, Expr::value(None::<String>));
    update = match outcome {
        Outcome::Failed { status, error } => update
            .col_expr(C::State, Expr::value(FAILED))
            .col_expr(C::LastStatus, Expr::value(status.map(i32::from)))
            .col_expr(C::LastError, Expr::value(Some(truncated(error))))
            .col_expr(C::FinishedAt, Expr::value(Some(now))),
        Outcome::Retry { status, error, at } => update
            .col_expr(C::State, Expr::value(PENDING))
            .col_expr(C::LastStatus, Expr::value(status.map(i32::from)))
            .col_expr(C::LastError, Expr::value(Some(truncated(error))))
            .col_expr(C::NextAttemptAt, Expr::value(*at)),
    };
    update.filter(C::Id.eq(claimed.id)).exec(db).await?;
    Ok(())
}

/// How old a reachable host's `last_success_at` may get before a success writes it again: the
/// admin page shows it to the minute, and a fan-out to a host already known good writes nothing.
const SUCCESS_REFRESH_SECONDS: i64 = 60;

/// A success: the host is reachable. Writes only when that changes something — the host has no
/// row yet, has failures or a failing streak recorded (by any process), is marked unreachable,
/// or its last success is over a minute old. The common case, a host already known good, costs
/// one read and no write: on SQLite a write statement takes the single writer's lock even when
/// it matches no row, so the check is a `SELECT`. It runs after the send, so a failure another
/// process recorded before this success is seen and cleared; one recorded after it is newer
/// than this success and stands.
pub async fn host_succeeded(
    db: &impl ConnectionTrait,
    host: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    hosts_succeeded(db, &[host], now).await
}

/// [`host_succeeded`] for several hosts at once: one read, and one write for those it changes
/// (in host order, so that two processes writing the same hosts take their locks alike).
pub async fn hosts_succeeded(
    db: &impl ConnectionTrait,
    hosts: &[&str],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use remote_host::Column as C;
    let known_good: std::collections::HashSet<String> = remote_host::Entity::find()
        .select_only()
        .column(C::Host)
        .filter(C::Host.is_in(in_list(hosts.iter().copied())))
        .filter(C::State.eq(REACHABLE))
        .filter(C::ConsecutiveFailures.eq(0))
        .filter(C::FailingSince.is_null())
        .filter(C::LastSuccessAt.gte(now - chrono::Duration::seconds(SUCCESS_REFRESH_SECONDS)))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut changed: Vec<&str> = hosts
        .iter()
        .copied()
        .filter(|h| !known_good.contains(*h))
        .collect();
    changed.sort();
    changed.dedup();
    if changed.is_empty() {
        return Ok(());
    }
    remote_host::Entity::insert_many(changed.into_iter().map(|host| remote_host::ActiveModel {
        host: Set(host.to_string()),
        state: Set(REACHABLE.to_string()),
        consecutive_failures: Set(0),
        failing_since: Set(None),
        last_success_at: Set(Some(now)),
        last_failure_at: Set(None),
        last_error: Set(None),
    }))
    .on_conflict(
        OnConflict::column(C::Host)
            .update_columns([
                C::State,
                C::ConsecutiveFailures,
                C::FailingSince,
                C::LastSuccessAt,
                C::LastError,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Records that these claimed deliveries were accepted with `status` (one statement however
/// many): delivered, lease released, one more attempt counted.
pub async fn record_delivered(
    db: &impl ConnectionTrait,
    ids: &[i64],
    status: u16,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use delivery::Column as C;
    delivery::Entity::update_many()
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .col_expr(C::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(C::LeasedBy, Expr::value(None::<String>))
        .col_expr(C::State, Expr::value(DELIVERED))
        .col_expr(C::LastStatus, Expr::value(Some(i32::from(status))))
        .col_expr(C::LastError, Expr::value(None::<String>))
        .col_expr(C::FinishedAt, Expr::value(Some(now)))
        .filter(C::Id.is_in(in_list(ids.iter().copied())))
        .exec(db)
        .await?;
    Ok(())
}

/// A failure that may be temporary. When the host has been failing for longer than
/// `unreachable_after` with no success since, it is marked unreachable and its pending
/// deliveries are parked. Returns true when that just happened.
pub async fn host_failed(
    db: &impl ConnectionTrait,
    host: &str,
    error: &str,
    now: DateTime<Utc>,
    unreachable_after: Duration,
) -> Result<bool, DbErr> {
    let existing = remote_host::Entity::find_by_id(host.to_string())
        .one(db)
        .await?;
    let (failures, since, state) = match &existing {
        Some(h) => (
            h.consecutive_failures + 1,
            h.failing_since.unwrap_or(now),
            h.state.clone(),
        ),
        None => (1, now, REACHABLE.to_string()),
    };
    let limit =
        chrono::Duration::from_std(unreachable_after).unwrap_or_else(|_| chrono::Duration::days(2));
    let becomes_unreachable = state == REACHABLE && now - since >= limit;
    let unreachable = becomes_unreachable || state == UNREACHABLE;
    let row = remote_host::ActiveModel {
        host: Set(host.to_string()),
        state: Set(if unreachable {
            UNREACHABLE.to_string()
        } else {
            state
        }),
        consecutive_failures: Set(failures),
        failing_since: Set(Some(since)),
        last_success_at: Set(existing.as_ref().and_then(|h| h.last_success_at)),
        last_failure_at: Set(Some(now)),
        last_error: Set(Some(truncated(error))),
    };
    use remote_host::Column as C;
    let mut columns = vec![
        C::ConsecutiveFailures,
        C::FailingSince,
        C::LastFailureAt,
        C::LastError,
    ];
    // The state is written only to mark the host down: a failure recorded while the host
    // contacted us (and was revived) must not put back the state read before that.
    if unreachable {
        columns.push(C::State);
    }
    remote_host::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Host)
                .update_columns(columns)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    // Also when the host was already unreachable: a delivery that was in flight when another
    // one parked the host was put back to pending after that, and must not keep retrying.
    if unreachable {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::State, Expr::value(PARKED))
            .filter(delivery::Column::Host.eq(host))
            .filter(delivery::Column::State.eq(PENDING))
            .exec(db)
            .await?;
    }
    if becomes_unreachable {
        tracing::warn!(
            host,
            "host unreachable: its deliveries are parked until it contacts us or an admin retries"
        );
    }
    Ok(becomes_unreachable)
}

/// Brings a host back: reachable again, parked deliveries due now. Called when the host
/// contacts us, or when an admin presses "retry now". Returns how many deliveries resumed.
pub async fn revive_host(
    db: &impl ConnectionTrait,
    host: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let Some(existing) = remote_host::Entity::find_by_id(host.to_string())
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    if existing.state != UNREACHABLE {
        return Ok(0);
    }
    remote_host::Entity::update_many()
        .col_expr(remote_host::Column::State, Expr::value(REACHABLE))
        .col_expr(remote_host::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            remote_host::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(remote_host::Column::Host.eq(host))
        .exec(db)
        .await?;
    let resumed = delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(PENDING))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(delivery::Column::Host.eq(host))
        .filter(delivery::Column::State.eq(PARKED))
        .exec(db)
        .await?;
    tracing::info!(
        host,
        resumed = resumed.rows_affected,
        "host reachable again"
    );
    Ok(resumed.rows_affected)
}

/// Deletes finished deliveries (delivered, or given up) that finished before `before`; the
/// activities they carried stay. Returns how many were deleted.
pub async fn forget_finished(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let done = delivery::Entity::delete_many()
        .filter(delivery::Column::State.is_in([DELIVERED, FAILED]))
        .filter(delivery::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Parked deliveries older than the retry horizon are given up: their host never came back.
pub async fn expire_parked(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    horizon: Duration,
) -> Result<u64, DbErr> {
    let cutoff =
        now - chrono::Duration::from_std(horizon).unwrap_or_else(|_| chrono::Duration::days(3));
    let result = delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(FAILED))
        .col_expr(
            delivery::Column::LastError,
            Expr::value(Some(
                "host unreachable for the whole retry horizon".to_string(),
            )),
        )
        .col_expr(delivery::Column::FinishedAt, Expr::value(Some(now)))
        .filter(delivery::Column::State.eq(PARKED))
        .filter(delivery::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Counts of deliveries by state, for one activity or overall.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    pub parked: u64,
}

impl Counts {
    /// Adds `n` deliveries in `state` (unknown states are ignored).
    fn add(&mut self, state: &str, n: u64) {
        match state {
            PENDING => self.pending += n,
            DELIVERED => self.delivered += n,
            FAILED => self.failed += n,
            PARKED => self.parked += n,
            _ => {}
        }
    }
}

/// Counts deliveries by state for each of `post_ids` (the deliveries of all their activities:
/// create, updates, delete) in one grouped query. Posts without deliveries are absent.
pub async fn counts_by_post(
    db: &impl ConnectionTrait,
    post_ids: &[i64],
) -> Result<HashMap<i64, Counts>, DbErr> {
    let mut by_post: HashMap<i64, Counts> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(by_post);
    }
    let post_id = (activity::Entity, activity::Column::PostId);
    let state = (delivery::Entity, delivery::Column::State);
    let mut query = Query::select();
    query
        .column(post_id)
        .column(state)
        .expr(Expr::col((delivery::Entity, delivery::Column::Id)).count())
        .from(delivery::Entity)
        .inner_join(
            activity::Entity,
            Expr::col((activity::Entity, activity::Column::Id))
                .equals((delivery::Entity, delivery::Column::ActivityId)),
        )
        .and_where(Expr::col(post_id).is_in(post_ids.iter().copied()))
        .group_by_col(post_id)
        .group_by_col(state);
    for row in db.query_all(&query).await? {
        let post: i64 = row.try_get_by_index(0)?;
        let state: String = row.try_get_by_index(1)?;
        let n: i64 = row.try_get_by_index(2)?;
        by_post
            .entry(post)
            .or_default()
            .add(&state, u64::try_from(n).unwrap_or(0));
    }
    Ok(by_post)
}

/// Counts deliveries by state, for the activities of one post if `post_id` is given.
pub async fn counts(db: &impl ConnectionTrait, post_id: Option<i64>) -> Result<Counts, DbErr> {
    let backend = db.get_database_backend();
    let (sql, values): (String, Vec<sea_orm::Value>) = match post_id {
        Some(id) => (
            match backend {
                DbBackend::Postgres => "SELECT d.state, COUNT(*) FROM delivery d JOIN activity a ON a.id = d.activity_id WHERE a.post_id = $1 GROUP BY d.state",
                _ => "SELECT d.state, COUNT(*) FROM delivery d JOIN activity a ON a.id = d.activity_id WHERE a.post_id = ? GROUP BY d.state",
            }
            .to_string(),
            vec![id.into()],
        ),
        None => ("SELECT state, COUNT(*) FROM delivery GROUP BY state".to_string(), vec![]),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        let state: String = row.try_get_by_index(0)?;
        let n: i64 = row.try_get_by_index(1)?;
        counts.add(&state, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Hosts and their delivery state, worst first.
pub async fn hosts(db: &impl ConnectionTrait) -> Result<Vec<remote_host::Model>, DbErr> {
    remote_host::Entity::find()
        .order_by_desc(remote_host::Column::State)
        .order_by_desc(remote_host::Column::ConsecutiveFailures)
        .order_by_asc(remote_host::Column::Host)
        .all(db)
        .await
}
