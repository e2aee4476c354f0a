//! Operations endpoints: Prometheus metrics.

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{delivery, error::AppResult, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Delivery metrics: queue depth by state (from the database, so every process reports the
/// whole queue), attempts by outcome and send latency (this process); the SQL statements this
/// process has run (`tribune_db_queries_total`); the inbox's batches (`service::intake`).
async fn metrics(State(state): State<AppState>) -> AppResult<Response> {
    let counts = delivery::queue::counts(&state.db, None).await?;
    let intake = state.intake.counts();
    let body = delivery::metrics::render(
        &[
            ("pending", counts.pending),
            ("delivered", counts.delivered),
            ("failed", counts.failed),
            ("parked", counts.parked),
        ],
        &[
            (
                "db_queries",
                "SQL statements run by this process",
                state.db_queries.total(),
            ),
            (
                "inbox_batches",
                "Transactions of the inbox's batch writer (this process)",
                intake.batches,
            ),
            (
                "inbox_batched_activities",
                "Likes, boosts and replies handed to the batch writer (this process)",
                intake.activities,
            ),
            (
                "inbox_failed_batches",
                "Batches that failed and were applied one by one (this process)",
                intake.failed_batches,
            ),
        ],
    );
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
