//! Durable delivery: every activity to send is a row per target inbox in the database, written in
//! the transaction of the change that caused it; workers claim due rows with a lease, sign and
//! send them through `federation::client`, and record the outcome. Only this module POSTs to
//! other servers.

pub mod metrics;
pub mod queue;
pub mod recorder;
pub mod worker;
