//! [`PerThread`]: a counter's storage split by thread, so counting a call is a plain load and store in
//! memory only the counting thread writes — no locked read-modify-write on a shared cache line, which
//! costs more than a whole in-memory port call's 5 % (the Platform's layers count every call).
//!
//! Each thread that counts gets a block of cells (one per counter, [`CELLS`] in all); a counter is an
//! index into every block. Reading sums the live blocks and what exited threads left behind, under the
//! lock that retires a block, so no count is lost or counted twice. A counter created after every index
//! is taken, or counted on a thread that is being torn down, falls back to one shared atomic.
//!
//! Reads are exact once the counting threads' writes are visible to the reader (as for any relaxed
//! atomic: after a join, a channel, a lock); a read racing an increment may miss that one increment.

use prometheus_client::metrics::counter::Atomic;
use std::cell::OnceCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The counters that get per-thread cells; later ones share one atomic each.
pub const CELLS: usize = 2048;

type Block = [AtomicU64; CELLS];

/// Every live thread's block, and the counts of threads that exited.
struct Registry {
    live: Vec<Arc<Block>>,
    retired: Box<Block>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

fn registry() -> MutexGuard<'static, Option<Registry>> {
    // Plain bookkeeping: a poisoned lock is used as is.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_block() -> Box<Block> {
    Box::new(std::array::from_fn(|_| AtomicU64::new(0)))
}

/// This thread's block; on thread exit its counts move to the registry's retired block.
struct Local(Arc<Block>);

impl Local {
    fn register() -> Local {
        let block: Arc<Block> = Arc::from(new_block());
        registry()
            .get_or_insert_with(|| Registry {
                live: Vec::new(),
                retired: new_block(),
            })
            .live
            .push(block.clone());
        Local(block)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let mut guard = registry();
        if let Some(r) = guard.as_mut() {
            for (retired, cell) in r.retired.iter().zip(self.0.iter()) {
                retired.fetch_add(cell.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            r.live.retain(|b| !Arc::ptr_eq(b, &self.0));
        }
    }
}

thread_local! {
    static LOCAL: OnceCell<Local> = const { OnceCell::new() };
}

/// A counter's value, kept per thread (see the module docs); the storage of [`super::FastCounter`].
#[derive(Debug)]
pub struct PerThread {
    /// The cell index in every block (`None`: all were taken).
    index: Option<usize>,
    /// Where counts go without a cell (no index, or a thread being torn down).
    shared: AtomicU64,
}

impl Default for PerThread {
    fn default() -> Self {
        let index = NEXT_INDEX
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                (i < CELLS).then_some(i + 1)
            })
            .ok();
        Self {
            index,
            shared: AtomicU64::new(0),
        }
    }
}

impl PerThread {
    fn add(&self, v: u64) {
        if let Some(i) = self.index {
            let counted = LOCAL.try_with(|local| {
                let cell = &local.get_or_init(Local::register).0[i];
                // Only this thread writes this cell: a load and a store, no locked instruction.
                cell.store(
                    cell.load(Ordering::Relaxed).wrapping_add(v),
                    Ordering::Relaxed,
                );
            });
            if counted.is_ok() {
                return;
            }
        }
        self.shared.fetch_add(v, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        let shared = self.shared.load(Ordering::Relaxed);
        let Some(i) = self.index else {
            return shared;
        };
        let guard = registry();
        let Some(r) = guard.as_ref() else {
            return shared;
        };
        r.live.iter().map(|b| b[i].load(Ordering::Relaxed)).fold(
            shared.wrapping_add(r.retired[i].load(Ordering::Relaxed)),
            u64::wrapping_add,
        )
    }
}

/// `inc` and `inc_by` return the value before the increment as a [`Counter`] of an `AtomicU64` does —
/// here read by summing every thread's cell, so it is only exact when no other thread counts at the
/// same time (avb never reads it).
///
/// [`Counter`]: prometheus_client::metrics::counter::Counter
impl Atomic<u64> for PerThread {
    fn inc(&self) -> u64 {
        self.inc_by(1)
    }

    fn inc_by(&self, v: u64) -> u64 {
        self.add(v);
        0
    }

    fn get(&self) -> u64 {
        self.sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up_also_after_they_exit() {
        let counter = Arc::new(PerThread::default());
        counter.inc_by(5);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let c = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.inc();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(counter.get(), 8005);
        // The exited threads' counts were retired, not lost; a live thread still adds.
        counter.inc();
        assert_eq!(counter.get(), 8006);
    }

    #[test]
    fn counters_do_not_share_cells() {
        let a = PerThread::default();
        let b = PerThread::default();
        a.inc_by(3);
        b.inc();
        assert_eq!((a.get(), b.get()), (3, 1));
    }

    #[test]
    fn a_counter_without_a_cell_counts_in_its_shared_atomic() {
        let c = PerThread {
            index: None,
            shared: AtomicU64::new(0),
        };
        c.inc();
        c.inc_by(2);
        assert_eq!(c.get(), 3);
    }
}
