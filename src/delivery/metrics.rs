//! Delivery metrics for Prometheus: deliveries by outcome and send latency (this process);
//! queue depth is read from the database at scrape time (all processes).

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::Gauge,
        histogram::Histogram,
    },
    registry::Registry,
};

pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const RETRIED: &str = "retried";

struct Metrics {
    outcomes: Family<Vec<(String, String)>, Counter>,
    send_seconds: Histogram,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        outcomes: Family::default(),
        send_seconds: Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
    })
}

/// Counts one attempt's outcome.
pub fn count(outcome: &str) {
    metrics()
        .outcomes
        .get_or_create(&vec![("outcome".to_string(), outcome.to_string())])
        .inc();
}

/// Records how long one signed POST took.
pub fn observe_send(elapsed: Duration) {
    metrics().send_seconds.observe(elapsed.as_secs_f64());
}

/// The text exposition, with the queue depth by state and this process's other counters
/// (name without the `tribune_` prefix and `_total` suffix, help, value) passed in.
pub fn render(depth: &[(&str, u64)], counters: &[(&str, &str, u64)]) -> String {
    let mut registry = Registry::with_prefix("tribune");
    let m = metrics();
    registry.register(
        "deliveries",
        "Delivery attempts by outcome (this process)",
        m.outcomes.clone(),
    );
    registry.register(
        "delivery_send_seconds",
        "Time to sign and send one delivery",
        m.send_seconds.clone(),
    );
    let depth_family: Family<Vec<(String, String)>, Gauge<u64, AtomicU64>> = Family::default();
    for (state, n) in depth {
        depth_family
            .get_or_create(&vec![("state".to_string(), (*state).to_string())])
            .set(*n);
    }
    registry.register(
        "delivery_queue",
        "Deliveries in the queue by state (all processes)",
        depth_family,
    );
    for (name, help, value) in counters {
        registry.register(*name, *help, ConstCounter::new(*value));
    }
    let mut out = String::new();
    if encode(&mut out, &registry).is_err() {
        out.clear();
    }
    let _ = Ordering::Relaxed;
    out
}
