//! Group commit of successful deliveries: a fan-out to a thousand inboxes ends in a thousand
//! successes within a second; one writer task records those that finished together in one
//! transaction (the rows delivered, their hosts known good) instead of two or three statements
//! each. A send gives its network slot back once the other server answered and waits for its
//! success to be committed on a recording place (`delivery::worker`), so what was sent but not
//! yet recorded when the process dies stays bounded, by four times the in-flight limit (its
//! lease expires and it is sent again; receivers ignore an activity id they have seen).

use std::time::Duration;

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

use super::queue::{self, Claimed};
use crate::db::group_commit::{BatchWriter, Gathering, GroupCommit};

/// Most successes recorded in one transaction.
const MAX_BATCH: usize = 256;

/// How long the writer waits for more successes once one arrived. A fan-out's successes come
/// one per signature (a millisecond apart on one core), so without waiting each would be its
/// own transaction; 20 ms gathers a fan-out's into one per twenty or so, and delays only when
/// a send's task ends (its recording place), never what other servers see nor the next send.
const LINGER: Duration = Duration::from_millis(20);

struct Success {
    id: i64,
    host: String,
    status: u16,
}

/// The handle sends report to; cloned into every send task.
#[derive(Clone)]
pub struct Recorder {
    successes: GroupCommit<Successes>,
    db: DatabaseConnection,
}

impl Recorder {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Recorder {
        Recorder {
            successes: GroupCommit::start(
                Successes { db: db.clone() },
                MAX_BATCH,
                Gathering::Linger(LINGER),
            ),
            db,
        }
    }

    /// Records that `row` was accepted with `status`, and that its host is up; returns once
    /// that is committed. If its batch failed, it is recorded on its own.
    pub async fn delivered(&self, row: &Claimed, status: u16) -> Result<(), DbErr> {
        let success = Success {
            id: row.id,
            host: row.host.clone(),
            status,
        };
        if self.successes.submit(success).await == Some(true) {
            return Ok(());
        }
        let now = Utc::now();
        queue::record_delivered(&self.db, &[row.id], status, now).await?;
        queue::host_succeeded(&self.db, &row.host, now).await
    }
}

/// Writes batches of successes; the outcome of each is whether its batch committed.
struct Successes {
    db: DatabaseConnection,
}

impl BatchWriter for Successes {
    type Job = Success;
    type Outcome = bool;

    async fn write(&mut self, batch: &[Success]) -> Vec<bool> {
        let committed = match store(&self.db, batch).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, deliveries = batch.len(),
                    "recording a batch of deliveries failed; each is recorded on its own");
                false
            }
        };
        vec![committed; batch.len()]
    }
}

async fn store(db: &DatabaseConnection, batch: &[Success]) -> Result<(), DbErr> {
    let now = Utc::now();
    let txn = db.begin().await?;
    // Usually one status (202 or 200) for all; one statement per status seen.
    let mut statuses: Vec<u16> = batch.iter().map(|s| s.status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let ids: Vec<i64> = batch
            .iter()
            .filter(|s| s.status == status)
            .map(|s| s.id)
            .collect();
        queue::record_delivered(&txn, &ids, status, now).await?;
    }
    let hosts: Vec<&str> = batch.iter().map(|s| s.host.as_str()).collect();
    queue::hosts_succeeded(&txn, &hosts, now).await?;
    txn.commit().await
}
