//! Forgets what is only kept for a while: the ids of received activities once servers have
//! stopped re-sending them, and finished deliveries once they are old news on the admin's
//! delivery page. Without it both tables grow with every activity, forever.

use chrono::{DateTime, Duration as Days, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::{db::entity::received_activity, delivery::queue, state::AppState};

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub received_ids: u64,
    pub finished_deliveries: u64,
}

/// One sweep as of `now`. Idempotent: several processes may sweep the same database.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<Swept, DbErr> {
    let settings = &state.settings;
    let received_before = now - Days::days(i64::from(settings.federation.remember_received_days));
    let received = received_activity::Entity::delete_many()
        .filter(received_activity::Column::ReceivedAt.lt(received_before))
        .exec(&state.db)
        .await?;
    let finished_before = now - Days::days(i64::from(settings.delivery.keep_finished_days));
    let finished_deliveries = queue::forget_finished(&state.db, finished_before).await?;
    Ok(Swept {
        received_ids: received.rows_affected,
        finished_deliveries,
    })
}

/// Sweeps now and then every `interval`, until the task is aborted at shutdown.
pub async fn run(state: AppState, interval: std::time::Duration) {
    loop {
        match sweep(&state, Utc::now()).await {
            Ok(swept) if swept == Swept::default() => {}
            Ok(swept) => tracing::info!(
                received_ids = swept.received_ids,
                finished_deliveries = swept.finished_deliveries,
                "forgot old received activity ids and finished deliveries"
            ),
            Err(err) => tracing::error!(error = %err, "housekeeping failed; will retry"),
        }
        tokio::time::sleep(interval).await;
    }
}
