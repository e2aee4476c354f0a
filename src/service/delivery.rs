//! Delivery decisions taken by people: an admin or editor retries an unreachable host now
//! rather than waiting for it to contact us.

use chrono::Utc;
use sea_orm::DbErr;

use crate::{delivery::queue, state::AppState};

/// Marks `host` reachable again and makes its parked deliveries due now, then wakes the
/// workers. Returns how many deliveries resumed (0 if the host was not unreachable).
pub async fn retry_host(state: &AppState, host: &str) -> Result<u64, DbErr> {
    let resumed = queue::revive_host(&state.db, host, Utc::now()).await?;
    if resumed > 0 {
        state.wake_delivery();
    }
    tracing::info!(host, resumed, "host retried by hand");
    Ok(resumed)
}
