//! Tiles of one picture run at once, each on its own thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::Error;

/// Whether [`each_tile`] runs `tiles` tiles at once on `threads` threads, each tile's graph then
/// on its thread alone.
pub(crate) fn at_once(threads: usize, tiles: usize) -> bool {
    threads > 1 && tiles > 1
}

/// Runs `work` on every tile: in order on this thread when `threads` is 1 or there is one tile,
/// else on `min(threads, tiles)` threads taking the next tile as they finish one. Stops at the
/// first error and returns it.
pub(crate) fn each_tile<T: Sync>(
    tiles: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    if !at_once(threads, tiles.len()) {
        return tiles.iter().try_for_each(work);
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || -> Result<(), Error> {
        while !failed.load(Ordering::Relaxed) {
            let Some(tile) = tiles.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            work(tile).inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads.min(tiles.len()))
            .map(|_| scope.spawn(worker))
            .collect();
        let mine = worker();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .fold(mine, Result::and)
    })
}
