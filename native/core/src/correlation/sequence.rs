//! Batch ordering for correlation state. Evaluation of batches may run
//! concurrently (the napi binding runs them as jobs on the engine's threads), but
//! correlation windows must see batches in the order the caller submitted
//! them. A `Ticket` is issued in submission order (on the caller's thread);
//! the correlation step of a batch waits until every earlier ticket is
//! settled, then runs. A ticket is settled when its step ran or when it was
//! abandoned (an evaluation error). A ticket lost to a bug (never settled)
//! cannot wedge the engine: a waiter gives up after `WAIT_LIMIT`, declares
//! every earlier ticket settled and proceeds (counted in `order_timeouts`).

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// A place in the correlation order. Not `Clone`: settle it exactly once.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket(pub(crate) u64);

#[derive(Default)]
struct Inner {
    issued: u64,
    /// Every ticket below `next` is settled.
    next: u64,
    /// Settled tickets at or above `next` (settled out of order).
    settled: BTreeSet<u64>,
    timeouts: u64,
}

#[derive(Default)]
pub struct Sequencer {
    inner: Mutex<Inner>,
    cv: Condvar,
}

impl Sequencer {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn issue(&self) -> Ticket {
        let mut g = self.lock();
        let t = g.issued;
        g.issued += 1;
        Ticket(t)
    }

    /// Block until every ticket before `t` is settled (or the wait limit).
    pub fn wait_turn(&self, t: &Ticket) {
        let mut g = self.lock();
        let deadline = std::time::Instant::now() + WAIT_LIMIT;
        while g.next < t.0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                g.timeouts += 1;
                g.next = t.0;
                g.settled.retain(|&x| x >= t.0);
                break;
            }
            g = match self.cv.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Mark `t` settled (after its step ran, or abandoned).
    pub fn settle(&self, t: Ticket) {
        let mut g = self.lock();
        if t.0 >= g.next {
            g.settled.insert(t.0);
        }
        loop {
            let next = g.next;
            if !g.settled.remove(&next) {
                break;
            }
            g.next += 1;
        }
        drop(g);
        self.cv.notify_all();
    }

    pub fn timeouts(&self) -> u64 {
        self.lock().timeouts
    }
}
