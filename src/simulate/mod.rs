//! Monte Carlo runs: paths simulated in parallel, in fixed-size chunks, tallied exactly.
//!
//! Path `i` always draws from its own stream (seed, i), so what a path does depends on neither
//! the thread count nor the chunking. Chunks are simulated in parallel, one wave at a time,
//! and their tallies and records are taken in path order.

pub mod kernel;
pub mod paired;
pub mod tally;

pub use kernel::{path_rng, Kernel, PathRecord};
pub use paired::{PairCounts, Paired};
pub use tally::Tally;

use crate::model::Model;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Paths per chunk of work.
pub const CHUNK: u64 = 8192;
/// Chunks per thread in a wave; a wave is the unit of progress reports and cancellation.
const CHUNKS_PER_THREAD: u64 = 4;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Global index of the first path.
    pub first_path: u64,
    pub paths: u64,
    pub seed: u64,
    /// Whether to hand every path's record to the caller (for the paths file).
    pub keep_records: bool,
}

/// What the caller is told after each wave.
pub struct Wave<'a> {
    pub paths_done: u64,
    /// The wave's paths in order, when `keep_records` is set; else empty.
    pub records: &'a [PathRecord],
}

#[derive(Debug)]
pub enum RunError<E> {
    /// The run stopped because `cancel` was raised.
    Cancelled,
    Caller(E),
}

/// Runs paths `[first_path, first_path + paths)` on `pool`, calling `on_wave` after each wave.
pub fn run<E>(
    model: &Model,
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    mut on_wave: impl FnMut(Wave<'_>) -> Result<(), E>,
) -> Result<Tally, RunError<E>> {
    let kernels = per_thread(pool, || Kernel::new(model, options.seed));
    let mut total = Tally::new(model);
    in_waves(
        options,
        pool,
        cancel,
        |slot, a, b| {
            let mut kernel = lock(&kernels[slot]);
            simulate_chunk(&mut kernel, model, a, b, options.keep_records, cancel)
        },
        |results, paths_done| {
            let mut records = Vec::new();
            for (tally, chunk_records) in results {
                total.merge(&tally);
                records.extend(chunk_records);
            }
            on_wave(Wave {
                paths_done,
                records: &records,
            })
        },
    )?;
    Ok(total)
}

/// Runs the same paths of several models, path i of each from the same stream (common random
/// numbers), and counts how each path went in every model against the first.
pub fn run_paired(
    models: &[&Model],
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> Result<Paired, RunError<std::convert::Infallible>> {
    let kernels = per_thread(pool, || {
        models
            .iter()
            .map(|m| Kernel::new(m, options.seed))
            .collect::<Vec<_>>()
    });
    let mut total = Paired::new(models);
    in_waves(
        options,
        pool,
        cancel,
        |slot, a, b| {
            let mut kernels = lock(&kernels[slot]);
            let mut chunk = Paired::new(models);
            chunk.simulate(&mut kernels, a, b, cancel);
            chunk
        },
        |results, paths_done| {
            results.iter().for_each(|chunk| total.merge(chunk));
            progress(paths_done);
            Ok(())
        },
    )?;
    Ok(total)
}

/// One value per worker thread, each taken by one chunk at a time.
fn per_thread<S>(pool: &rayon::ThreadPool, make: impl Fn() -> S) -> Vec<Mutex<S>> {
    (0..pool.current_num_threads())
        .map(|_| Mutex::new(make()))
        .collect()
}

fn lock<S>(slot: &Mutex<S>) -> std::sync::MutexGuard<'_, S> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// Splits the run into waves of chunks, simulates each wave's chunks in parallel with
/// `chunk(thread slot, first path, end)`, and hands their results, in path order, to `wave`.
fn in_waves<T: Send, E>(
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    chunk: impl Fn(usize, u64, u64) -> T + Sync,
    mut wave: impl FnMut(Vec<T>, u64) -> Result<(), E>,
) -> Result<(), RunError<E>> {
    let threads = pool.current_num_threads() as u64;
    let end = options.first_path + options.paths;
    let wave_paths = CHUNK * CHUNKS_PER_THREAD * threads;
    let mut wave_start = options.first_path;
    while wave_start < end {
        if cancel.load(Ordering::Relaxed) {
            return Err(RunError::Cancelled);
        }
        let wave_end = end.min(wave_start.saturating_add(wave_paths));
        let chunks: Vec<(u64, u64)> = (wave_start..wave_end)
            .step_by(CHUNK as usize)
            .map(|a| (a, wave_end.min(a + CHUNK)))
            .collect();
        let results: Vec<T> = pool.install(|| {
            chunks
                .par_iter()
                .map(|&(a, b)| {
                    let slot = rayon::current_thread_index().unwrap_or(0) % threads as usize;
                    chunk(slot, a, b)
                })
                .collect()
        });
        if cancel.load(Ordering::Relaxed) {
            return Err(RunError::Cancelled);
        }
        wave(results, wave_end - options.first_path).map_err(RunError::Caller)?;
        wave_start = wave_end;
    }
    Ok(())
}

fn simulate_chunk(
    kernel: &mut Kernel<'_>,
    model: &Model,
    first: u64,
    end: u64,
    keep_records: bool,
    cancel: &AtomicBool,
) -> (Tally, Vec<PathRecord>) {
    let mut tally = Tally::new(model);
    let mut records = Vec::new();
    let mut record = PathRecord::new(model);
    for path in first..end {
        // A long chunk of a big model stops promptly when asked to.
        if path % 1024 == 0 && cancel.load(Ordering::Relaxed) {
            break;
        }
        kernel.run_path(path, &mut record);
        tally.add(&record);
        if keep_records {
            records.push(record.clone());
        }
    }
    (tally, records)
}

/// Simulates paths `[first, end)` on the current thread: for tests and small runs.
pub fn tally_serial(model: &Model, seed: u64, first: u64, end: u64) -> Tally {
    let mut kernel = Kernel::new(model, seed);
    simulate_chunk(
        &mut kernel,
        model,
        first,
        end,
        false,
        &AtomicBool::new(false),
    )
    .0
}
