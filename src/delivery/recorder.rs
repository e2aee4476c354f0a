//! Group commit of successful deliveries: a fan-out to a thousand inboxes ends in a thousand
//! successes within a second; one writer task records those that finished together in one
//! transaction (the rows delivered, their hosts known good) instead of two or three statements
//! each. A send waits until its success is committed before it gives its slot back, so what was
//! sent but not yet recorded when the process dies is still bounded by the in-flight limit (its
//! lease expires and it is sent again; receivers ignore an activity id they have seen).

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::queue::{self, Claimed};

/// Most successes recorded in one transaction.
const MAX_BATCH: usize = 256;

struct Success {
    id: i64,
    host: String,
    status: u16,
    recorded: oneshot::Sender<bool>,
}

/// The handle sends report to; cloned into every send task.
#[derive(Clone)]
pub struct Recorder {
    successes: mpsc::Sender<Success>,
    db: DatabaseConnection,
}

impl Recorder {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Recorder {
        let (successes, waiting) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write(db.clone(), waiting));
        Recorder { successes, db }
    }

    /// Records that `row` was accepted with `status`, and that its host is up; returns once
    /// that is committed. If its batch failed, it is recorded on its own.
    pub async fn delivered(&self, row: &Claimed, status: u16) -> Result<(), DbErr> {
        let (recorded, done) = oneshot::channel();
        let success = Success {
            id: row.id,
            host: row.host.clone(),
            status,
            recorded,
        };
        if self.successes.send(success).await.is_ok() && done.await.unwrap_or(false) {
            return Ok(());
        }
        let now = Utc::now();
        queue::record_delivered(&self.db, &[row.id], status, now).await?;
        queue::host_succeeded(&self.db, &row.host, now).await
    }
}

/// Takes whatever succeeded while the previous batch was being written.
async fn write(db: DatabaseConnection, mut waiting: mpsc::Receiver<Success>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let committed = match store(&db, &batch).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, deliveries = batch.len(),
                    "recording a batch of deliveries failed; each is recorded on its own");
                false
            }
        };
        for success in batch.drain(..) {
            let _ = success.recorded.send(committed);
        }
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
    let hosts: Vec<String> = batch.iter().map(|s| s.host.clone()).collect();
    queue::hosts_succeeded(&txn, &hosts, now).await?;
    txn.commit().await
}
