//! Monte Carlo runs: paths simulated in parallel, in fixed-size chunks, tallied exactly.
//!
//! Path `i` always draws from its own stream (seed, i), so what a path does depends on neither
//! the thread count nor the chunking. Chunks are simulated in parallel, one wave at a time,
//! and their tallies and records are taken in path order.

pub mod kernel;
pub mod paired;
pub mod tally;

pub use kernel::{path_rng, Kernel, Method, PathRecord};
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
/// What the threads of a run may hold together, in bytes: a run uses fewer threads than
/// asked when the scenario is so large that more would need more (the numbers do not depend
/// on the thread count, so only the speed changes).
pub const THREADS_MEMORY: usize = 1 << 30;

/// The most memory one worker thread holds for `model`, in bytes: its kernel's table cache,
/// its tally, and, with `keep_records`, its share of a wave's path records (held twice while
/// they are put in order).
pub fn bytes_per_thread(model: &Model, keep_records: bool) -> usize {
    let records = if keep_records {
        2 * (CHUNK * CHUNKS_PER_THREAD) as usize * PathRecord::bytes(model)
    } else {
        0
    };
    Kernel::max_bytes(model) + Tally::bytes(model) + records
}

/// The most threads a run of `model` may use within [`THREADS_MEMORY`].
pub fn max_threads(model: &Model, keep_records: bool) -> usize {
    (THREADS_MEMORY / bytes_per_thread(model, keep_records)).max(1)
}

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
    let workers = per_thread(pool, || {
        (Kernel::new(model, options.seed), Tally::new(model))
    });
    in_waves(
        options,
        pool,
        cancel,
        &workers,
        |(kernel, tally), a, b| {
            simulate_chunk(kernel, tally, model, a, b, options.keep_records, cancel)
        },
        |records, paths_done| {
            on_wave(Wave {
                paths_done,
                records: &records,
            })
        },
    )?;
    let mut total = Tally::new(model);
    for worker in workers {
        total.merge(&worker.into_inner().unwrap_or_else(|e| e.into_inner()).1);
    }
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
    let workers = per_thread(pool, || {
        let kernels: Vec<Kernel<'_>> = models
            .iter()
            .map(|m| Kernel::new(m, options.seed))
            .collect();
        (kernels, Paired::new(models))
    });
    in_waves(
        options,
        pool,
        cancel,
        &workers,
        |(kernels, paired), a, b| {
            paired.simulate(kernels, a, b, cancel);
            Vec::new()
        },
        |_, paths_done| {
            progress(paths_done);
            Ok(())
        },
    )?;
    let mut total = Paired::new(models);
    for worker in workers {
        total.merge(&worker.into_inner().unwrap_or_else(|e| e.into_inner()).1);
    }
    Ok(total)
}

/// One worker state per thread of `pool`, for the whole run: a chunk adds its paths to the
/// state of the thread that ran it. Counts are integers, so which thread counted a path cannot
/// change a total, and memory does not grow with the number of chunks in a wave.
fn per_thread<S>(pool: &rayon::ThreadPool, make: impl Fn() -> S) -> Vec<Mutex<S>> {
    (0..pool.current_num_threads())
        .map(|_| Mutex::new(make()))
        .collect()
}

/// Splits the run into waves of chunks and simulates each wave's chunks in parallel with
/// `chunk(worker state, first path, end)`; hands the records of each wave, in path order, to
/// `wave`.
fn in_waves<S: Send, E>(
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    workers: &[Mutex<S>],
    chunk: impl Fn(&mut S, u64, u64) -> Vec<PathRecord> + Sync,
    mut wave: impl FnMut(Vec<PathRecord>, u64) -> Result<(), E>,
) -> Result<(), RunError<E>> {
    let end = options.first_path + options.paths;
    let wave_paths = CHUNK * CHUNKS_PER_THREAD * workers.len() as u64;
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
        let results: Vec<Vec<PathRecord>> = pool.install(|| {
            chunks
                .par_iter()
                .map(|&(a, b)| {
                    let slot = rayon::current_thread_index().unwrap_or(0) % workers.len();
                    let mut worker = workers[slot].lock().unwrap_or_else(|e| e.into_inner());
                    chunk(&mut worker, a, b)
                })
                .collect()
        });
        if cancel.load(Ordering::Relaxed) {
            return Err(RunError::Cancelled);
        }
        let records: Vec<PathRecord> = results.into_iter().flatten().collect();
        wave(records, wave_end - options.first_path).map_err(RunError::Caller)?;
        wave_start = wave_end;
    }
    Ok(())
}

fn simulate_chunk(
    kernel: &mut Kernel<'_>,
    tally: &mut Tally,
    model: &Model,
    first: u64,
    end: u64,
    keep_records: bool,
    cancel: &AtomicBool,
) -> Vec<PathRecord> {
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
    records
}

/// Simulates paths `[first, end)` on the current thread: for tests and small runs.
pub fn tally_serial(model: &Model, seed: u64, first: u64, end: u64) -> Tally {
    tally_serial_with(model, Method::for_model(model), seed, first, end)
}

/// [`tally_serial`] by a given kernel method: for tests and benchmarks.
pub fn tally_serial_with(model: &Model, method: Method, seed: u64, first: u64, end: u64) -> Tally {
    let mut kernel = Kernel::with_method(model, seed, method);
    let mut tally = Tally::new(model);
    simulate_chunk(
        &mut kernel,
        &mut tally,
        model,
        first,
        end,
        false,
        &AtomicBool::new(false),
    );
    tally
}
