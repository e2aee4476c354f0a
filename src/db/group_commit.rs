//! Group commit: many tasks hand small writes to one writer task, which stores whatever arrived
//! together in one transaction and answers each task once that transaction is over. The inbox
//! (`service::intake`) and the delivery workers (`delivery::recorder`) use it: on SQLite's
//! single writer, one commit for thirty rows costs about what one commit for one row does.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// What the writer task does with a batch.
pub trait BatchWriter: Send + 'static {
    type Job: Send + 'static;
    type Outcome: Send + 'static;

    /// Stores `jobs` (in one transaction, as a rule) and returns one outcome per job, in order.
    /// A failure is an outcome too: the writer never stops.
    fn write(&mut self, jobs: &[Self::Job]) -> impl Future<Output = Vec<Self::Outcome>> + Send;
}

type Waiting<W> = (
    <W as BatchWriter>::Job,
    oneshot::Sender<<W as BatchWriter>::Outcome>,
);

/// The handle tasks submit to; the writer task runs as long as the runtime does.
pub struct GroupCommit<W: BatchWriter> {
    jobs: mpsc::Sender<Waiting<W>>,
}

impl<W: BatchWriter> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        GroupCommit {
            jobs: self.jobs.clone(),
        }
    }
}

impl<W: BatchWriter> GroupCommit<W> {
    /// Starts the writer task on the current Tokio runtime; at most `max_batch` jobs a batch.
    pub fn start(writer: W, max_batch: usize) -> GroupCommit<W> {
        let (jobs, waiting) = mpsc::channel(max_batch.saturating_mul(8).max(1));
        tokio::spawn(run(writer, waiting, max_batch.max(1)));
        GroupCommit { jobs }
    }

    /// Hands `job` to the writer and waits until its batch is written; `None` if the writer
    /// is gone (it panicked), so the caller can do the work itself.
    pub async fn submit(&self, job: W::Job) -> Option<W::Outcome> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send((job, answer)).await.ok()?;
        answered.await.ok()
    }
}

/// Takes whatever arrived while the previous batch was being written, then lets the tasks
/// already under way join: turns of the scheduler while jobs keep coming, not a timer, so a
/// lone job waits for nobody.
async fn run<W: BatchWriter>(
    mut writer: W,
    mut waiting: mpsc::Receiver<Waiting<W>>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while waiting.recv_many(&mut batch, max_batch).await > 0 {
        for _ in 0..3 {
            tokio::task::yield_now().await;
            let before = batch.len();
            while batch.len() < max_batch
                && let Ok(waiting_job) = waiting.try_recv()
            {
                batch.push(waiting_job);
            }
            if batch.len() == before || batch.len() == max_batch {
                break;
            }
        }
        let (jobs, answers): (Vec<W::Job>, Vec<_>) = batch.drain(..).unzip();
        let outcomes = writer.write(&jobs).await;
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // A task that gave up waiting (its request was dropped) needs no answer.
            let _ = answer.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records each batch's jobs; answers double each job, except job 0 (no answer).
    struct Doubler(Arc<Mutex<Vec<Vec<u32>>>>);

    impl BatchWriter for Doubler {
        type Job = u32;
        type Outcome = u32;

        async fn write(&mut self, jobs: &[u32]) -> Vec<u32> {
            self.0.lock().expect("lock").push(jobs.to_vec());
            jobs.iter()
                .take_while(|j| **j != 0)
                .map(|j| j * 2)
                .collect()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn jobs_submitted_together_are_one_batch_each_answered() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let commit = GroupCommit::start(Doubler(Arc::clone(&batches)), 3);
        let answers = futures_util::future::join_all((1..=5).map(|j| commit.submit(j))).await;
        assert_eq!(answers, vec![Some(2), Some(4), Some(6), Some(8), Some(10)]);
        assert_eq!(
            *batches.lock().expect("lock"),
            vec![vec![1, 2, 3], vec![4, 5]],
            "at most 3 a batch, in order"
        );
        // A job the writer gives no outcome for is answered None (the caller does it itself).
        assert_eq!(commit.submit(0).await, None);
        assert_eq!(commit.submit(7).await, Some(14), "the writer goes on");
    }
}
