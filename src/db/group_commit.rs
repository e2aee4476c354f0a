//! Group commit: many tasks hand small writes to one writer task, which stores whatever arrived
//! together in one transaction and answers each task once that transaction is over. The inbox
//! (`service::intake`) and the delivery workers (`delivery::recorder`) use it: on SQLite's
//! single writer, one commit for thirty rows costs about what one commit for one row does.

use std::{future::Future, time::Duration};

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

/// How the writer gathers a batch once a first job has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gathering {
    /// Lets the tasks already under way join: turns of the scheduler while jobs keep coming,
    /// not a timer, so a lone job waits for nobody. For callers that answer someone waiting
    /// (the inbox's HTTP requests).
    Yields,
    /// Waits up to this long for more jobs. For callers whose jobs finish spread over time
    /// and where nobody waits on the answer but the caller itself (the delivery workers: a
    /// fan-out's successes arrive one per signature, too far apart for turns of the
    /// scheduler to gather them).
    Linger(Duration),
}

impl<W: BatchWriter> GroupCommit<W> {
    /// Starts the writer task on the current Tokio runtime; at most `max_batch` jobs a batch.
    pub fn start(writer: W, max_batch: usize, gathering: Gathering) -> GroupCommit<W> {
        let (jobs, waiting) = mpsc::channel(max_batch.saturating_mul(8).max(1));
        tokio::spawn(run(writer, waiting, max_batch.max(1), gathering));
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

/// Takes whatever arrived while the previous batch was being written, then gathers more as
/// `gathering` says, and writes the batch.
async fn run<W: BatchWriter>(
    mut writer: W,
    mut waiting: mpsc::Receiver<Waiting<W>>,
    max_batch: usize,
    gathering: Gathering,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while waiting.recv_many(&mut batch, max_batch).await > 0 {
        match gathering {
            Gathering::Yields => {
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
            }
            Gathering::Linger(linger) => {
                let until = tokio::time::Instant::now() + linger;
                while batch.len() < max_batch {
                    let room = max_batch - batch.len();
                    match tokio::time::timeout_at(until, waiting.recv_many(&mut batch, room)).await
                    {
                        Ok(received) if received > 0 => {}
                        // Time is up, or every sender is gone.
                        _ => break,
                    }
                }
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
        let commit = GroupCommit::start(Doubler(Arc::clone(&batches)), 3, Gathering::Yields);
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

    #[tokio::test(flavor = "current_thread")]
    async fn a_lingering_writer_gathers_jobs_that_arrive_within_its_wait() {
        use std::time::Duration;
        let batches = Arc::new(Mutex::new(Vec::new()));
        // Wide margins: real time, on a machine that may be busy.
        let linger = Duration::from_millis(300);
        let commit =
            GroupCommit::start(Doubler(Arc::clone(&batches)), 10, Gathering::Linger(linger));
        let later = |job: u32, after_ms: u64| {
            let commit = commit.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(after_ms)).await;
                commit.submit(job).await
            }
        };
        // 1 at 0 ms and 2 at 50 ms fall within one wait; 3 at 900 ms starts the next batch.
        let answers = futures_util::future::join3(later(1, 0), later(2, 50), later(3, 900)).await;
        assert_eq!(answers, (Some(2), Some(4), Some(6)));
        assert_eq!(*batches.lock().expect("lock"), vec![vec![1, 2], vec![3]]);
    }
}
