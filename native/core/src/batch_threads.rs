//! Reused threads for the batch jobs of plans with correlation rules
//! (`Engine::spawn`).
//!
//! Such a job blocks: its correlation step waits for earlier batches'
//! tickets, so it cannot run on the engine's pool. It used to get a thread
//! of its own, created and torn down per batch; at a thousand small batches
//! a second that creation is a visible share of the per-batch cost, so here
//! a thread that finished a job waits for the next one instead.
//!
//! Invariants:
//! - jobs start in submission order (one FIFO queue), so a job that waits
//!   for earlier tickets only ever waits for jobs already running or done:
//!   no job waits for one stuck behind it in the queue;
//! - a job never waits for a thread: `idle` counts the threads parked on
//!   the queue that no queued job has claimed yet, a submission claims one
//!   or starts a new thread, so every queued job has a thread of its own;
//! - the threads end when the `BatchThreads` is dropped (the queue closes);
//!   jobs already queued still run first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct BatchThreads {
    queue: Sender<Job>,
    jobs: Arc<Mutex<Receiver<Job>>>,
    /// Parked threads not yet claimed by a queued job.
    idle: Arc<AtomicUsize>,
}

impl Default for BatchThreads {
    fn default() -> Self {
        let (queue, jobs) = mpsc::channel();
        BatchThreads {
            queue,
            jobs: Arc::new(Mutex::new(jobs)),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl BatchThreads {
    /// Runs `job` on a parked thread, or on a new one when none is parked.
    /// Runs it on the calling thread if no thread can be started.
    pub fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        let claimed = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if !claimed {
            self.start_thread(Box::new(job));
            return;
        }
        // The receiver lives as long as `self`, so the send cannot fail; if
        // it did, the job would still run, here.
        if let Err(mpsc::SendError(job)) = self.queue.send(Box::new(job)) {
            job();
        }
    }

    fn start_thread(&self, first: Job) {
        // Shared so that the job is still here if the thread cannot start.
        let slot = Arc::new(Mutex::new(Some(first)));
        let theirs = Arc::clone(&slot);
        let jobs = Arc::clone(&self.jobs);
        let idle = Arc::clone(&self.idle);
        let started = std::thread::Builder::new()
            .name("sigma-batch".into())
            .spawn(move || {
                if let Some(job) = take(&theirs) {
                    job();
                }
                loop {
                    idle.fetch_add(1, Ordering::AcqRel);
                    let next = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if started.is_err() {
            if let Some(job) = take(&slot) {
                job();
            }
        }
    }
}

fn take(slot: &Mutex<Option<Job>>) -> Option<Job> {
    slot.lock().ok().and_then(|mut job| job.take())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn runs_every_job_and_reuses_threads() {
        let threads = BatchThreads::default();
        let (done, finished) = channel();
        for i in 0..50 {
            let done = done.clone();
            threads.run(move || {
                let name = std::thread::current().name().map(str::to_owned);
                done.send((i, name)).ok();
            });
            // Let the job finish so that the next one finds a parked thread.
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut seen: Vec<(i32, Option<String>)> = (0..50)
            .map(|_| {
                finished
                    .recv_timeout(Duration::from_secs(5))
                    .expect("job ran")
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            (0..50).collect::<Vec<_>>()
        );
        assert!(seen.iter().all(|s| s.1.as_deref() == Some("sigma-batch")));
        // Sequential jobs leave one thread parked, not fifty.
        assert!(threads.idle.load(Ordering::Acquire) <= 2);
    }

    #[test]
    fn blocked_jobs_each_get_a_thread() {
        // Every job waits until all have started: with fewer threads than
        // jobs this would never finish.
        let threads = BatchThreads::default();
        let jobs = 8;
        let barrier = Arc::new(std::sync::Barrier::new(jobs));
        let (done, finished) = channel();
        for _ in 0..jobs {
            let barrier = Arc::clone(&barrier);
            let done = done.clone();
            threads.run(move || {
                barrier.wait();
                done.send(()).ok();
            });
        }
        for _ in 0..jobs {
            finished
                .recv_timeout(Duration::from_secs(5))
                .expect("no job starved");
        }
    }
}
