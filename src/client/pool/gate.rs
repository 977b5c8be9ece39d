//! A counting semaphore that serves waiters first come, first served, and whose paths while
//! nobody waits take no lock. Two queues use it: every exclusive checkout of a [`Db`](super::Db)
//! (bb8 hands a returned connection to whichever task asks next, so a caller that just gave one
//! back took it again before the woken waiter ran, and waiters were overtaken for seconds), and
//! the multiplexed path's admission.
//!
//! tokio's `Semaphore` is as fair, but giving a permit back always takes its lock (to hand the
//! permit to a waiter, if there is one). Once per statement on the multiplexed path, that was
//! about 0.5 µs of client CPU per query with 50 callers on two worker threads (alternated runs of
//! `BENCH_PROFILE=mux50`: 5.4–5.9 µs without admission against 6.0–6.7 µs with it). Here a permit
//! taken or given back while nobody waits is one atomic operation on the count and one load of
//! the number waiting; the lock is taken only while someone waits, and then freed permits go to
//! the oldest waiter, never to a newcomer.

use std::{
    collections::VecDeque,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
};

use tokio::sync::oneshot;

pub(super) struct Gate {
    permits: AtomicUsize,
    /// Entries in `queue` (changed under its lock; read without it). Every ordering here is
    /// `SeqCst`: a waiter adds itself here and then looks at `permits`, a permit given back is
    /// added to `permits` and then this is looked at, so one of the two always sees the other.
    waiting: AtomicUsize,
    /// The waiters, oldest first; a sender whose receiver is gone is a waiter that gave up.
    queue: Mutex<VecDeque<oneshot::Sender<()>>>,
}

/// A permit, given back when dropped.
pub(super) struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A waiter's end; dropped before its permit came (a timeout), it gives back one granted meanwhile.
struct Waiter<'a> {
    gate: &'a Gate,
    granted: oneshot::Receiver<()>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.granted.close();
        if self.granted.try_recv().is_ok() {
            self.gate.release();
        }
    }
}

impl Gate {
    pub(super) fn new(permits: usize) -> Self {
        Gate { permits: AtomicUsize::new(permits), waiting: AtomicUsize::new(0), queue: Mutex::new(VecDeque::new()) }
    }

    fn take(&self) -> bool {
        self.permits.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<oneshot::Sender<()>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Callers waiting for a permit now.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(SeqCst)
    }

    /// A permit now, if one is free and nobody waits for one.
    pub(super) fn try_acquire(&self) -> Option<Permit<'_>> {
        // Lazily: a `Permit` made and dropped would give back a permit never taken.
        self.try_take().then(|| Permit(self))
    }

    /// A permit, in arrival order.
    pub(super) async fn acquire(&self) -> Permit<'_> {
        self.wait_turn().await;
        Permit(self)
    }

    fn try_take(&self) -> bool {
        self.waiting.load(SeqCst) == 0 && self.take()
    }

    /// Returns once a permit is the caller's, which the caller wraps in a [`Permit`] at once (no
    /// await in between). Dropped before that, it holds no permit.
    async fn wait_turn(&self) {
        if self.try_take() {
            return;
        }
        let granted = {
            let mut queue = self.lock();
            self.forget_gone(&mut queue);
            self.waiting.fetch_add(1, SeqCst);
            if queue.is_empty() && self.take() {
                self.waiting.fetch_sub(1, SeqCst);
                return;
            }
            let (tx, rx) = oneshot::channel();
            queue.push_back(tx);
            rx
        };
        let mut waiter = Waiter { gate: self, granted };
        // The gate drops a sender only after sending or once its receiver is gone.
        // Received here, the grant is not there for the waiter's drop to give back.
        let _ = (&mut waiter.granted).await;
    }

    fn release(&self) {
        self.permits.fetch_add(1, SeqCst);
        if self.waiting.load(SeqCst) == 0 {
            return;
        }
        let mut queue = self.lock();
        // Free permits to the oldest waiters still there.
        while !queue.is_empty() && self.take() {
            loop {
                let Some(waiter) = queue.pop_front() else {
                    self.permits.fetch_add(1, SeqCst);
                    return;
                };
                self.waiting.fetch_sub(1, SeqCst);
                if waiter.send(()).is_ok() {
                    break;
                }
            }
        }
    }

    /// Drops the waiters at the head that gave up, so they hold up nobody.
    fn forget_gone(&self, queue: &mut VecDeque<oneshot::Sender<()>>) {
        while queue.front().is_some_and(oneshot::Sender::is_closed) {
            queue.pop_front();
            self.waiting.fetch_sub(1, SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    /// Polls the runtime until `gate` has `n` waiters.
    async fn until_waiting(gate: &Gate, n: usize) {
        while gate.waiting.load(SeqCst) != n {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn uncontended_permits_come_and_go_without_a_queue() {
        let gate = Gate::new(2);
        let (a, b) = (gate.try_acquire().unwrap(), gate.try_acquire().unwrap());
        assert!(gate.try_acquire().is_none());
        drop(a);
        let c = gate.try_acquire().unwrap();
        drop((b, c));
        assert_eq!(gate.permits.load(SeqCst), 2);
        assert!(gate.lock().is_empty());
    }

    #[tokio::test]
    async fn waiters_are_served_in_arrival_order_and_newcomers_wait_behind_them() {
        let gate = Arc::new(Gate::new(1));
        let held = gate.try_acquire().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (mine, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = mine.acquire().await;
                order.lock().unwrap().push(i);
            }));
            until_waiting(&gate, i + 1).await;
        }
        assert!(gate.try_acquire().is_none(), "a newcomer does not overtake the waiters");
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
        assert_eq!(gate.permits.load(SeqCst), 1);
        assert_eq!(gate.waiting.load(SeqCst), 0);
    }

    /// 50 tasks on 5 permits, some giving up after 50 µs: every permit comes back, none is made.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn permits_are_neither_lost_nor_made_under_contention() {
        let gate = Arc::new(Gate::new(5));
        let tasks: Vec<_> = (0..50u64)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    for j in 0..2000u64 {
                        let permit = if (i + j) % 7 == 0 {
                            match tokio::time::timeout(Duration::from_micros(50), gate.acquire()).await {
                                Ok(permit) => permit,
                                Err(_) => continue,
                            }
                        } else {
                            match gate.try_acquire() {
                                Some(permit) => permit,
                                None => gate.acquire().await,
                            }
                        };
                        tokio::task::yield_now().await;
                        drop(permit);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(gate.permits.load(SeqCst), 5);
        assert_eq!(gate.waiting.load(SeqCst), gate.lock().len());
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_permit_and_holds_up_nobody() {
        let gate = Gate::new(1);
        let held = gate.try_acquire().unwrap();
        // Gives up before its turn: its entry stays queued until someone passes it.
        assert!(tokio::time::timeout(Duration::from_millis(1), gate.acquire()).await.is_err());
        drop(held);
        let again = tokio::time::timeout(Duration::from_secs(5), gate.acquire()).await.expect("not held up");
        drop(again);
        // Granted, then dropped before it looked: the permit comes back.
        let held = gate.try_acquire().unwrap();
        let mut late = Box::pin(gate.acquire());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(late.as_mut().poll(&mut cx).is_pending());
        drop(held);
        drop(late);
        assert_eq!(gate.permits.load(SeqCst), 1);
        assert!(gate.try_acquire().is_some());
    }
}
