//! Monte Carlo runs: paths simulated in parallel, in fixed-size chunks, tallied exactly.
//!
//! Path `i` always draws from its own stream (seed, i), so what a path does depends on neither
//! the thread count nor the chunking. Chunks are simulated in parallel, one wave at a time,
//! and their tallies and records are taken in path order.

pub mod kernel;
pub mod tally;

pub use kernel::{path_rng, Kernel, PathRecord};
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
    let threads = pool.current_num_threads() as u64;
    let kernels: Vec<Mutex<Kernel<'_>>> = (0..threads)
        .map(|_| Mutex::new(Kernel::new(model, options.seed)))
        .collect();
    let end = options.first_path + options.paths;
    let wave_paths = CHUNK * CHUNKS_PER_THREAD * threads;
    let mut total = Tally::new(model);
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
        let results: Vec<(Tally, Vec<PathRecord>)> = pool.install(|| {
            chunks
                .par_iter()
                .map(|&(a, b)| {
                    let slot = rayon::current_thread_index().unwrap_or(0) % kernels.len();
                    let mut kernel = kernels[slot].lock().unwrap_or_else(|e| e.into_inner());
                    simulate_chunk(&mut kernel, model, a, b, options.keep_records, cancel)
                })
                .collect()
        });
        if cancel.load(Ordering::Relaxed) {
            return Err(RunError::Cancelled);
        }
        let mut records = Vec::new();
        for (tally, chunk_records) in results {
            total.merge(&tally);
            records.extend(chunk_records);
        }
        on_wave(Wave {
            paths_done: wave_end - options.first_path,
            records: &records,
        })
        .map_err(RunError::Caller)?;
        wave_start = wave_end;
    }
    Ok(total)
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
