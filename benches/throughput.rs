//! Paths per second: every preset, a large synthetic scenario, the kernel alone, and two
//! baselines (one Bernoulli draw per eligible event per step; raw ChaCha8 output).
//!
//! Run with `cargo bench --bench throughput`; see benches/README.md for the figures.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pathcast::model::Model;
use pathcast::scenario::{self, presets};
use pathcast::simulate::{self, path_rng, Kernel, PathRecord, RunOptions};
use rand::RngCore;
use rustc_hash::FxHashMap;
use std::sync::atomic::AtomicBool;

const PATHS: u64 = 200_000;

fn preset(name: &str) -> Model {
    scenario::load_preset(name, &[]).unwrap().model
}

/// 64 events over 520 weekly steps: chains of conditions, modifiers and staggered windows.
fn synthetic() -> Model {
    let mut text = String::from(
        "[scenario]\nid = \"synthetic\"\nhorizon = 520\n\n[horizon]\ndefault = \"open\"\n",
    );
    for i in 0..64 {
        text += &format!(
            "[events.e{i}]\nlabel = \"Event {i}\"\np = {}\n",
            0.002 + 0.0005 * (i % 7) as f64
        );
        if i % 4 == 1 {
            text += &format!("when = \"e{}\"\n", i - 1);
        }
        if i % 5 == 2 {
            let first = 1 + (i * 37) % 400;
            text += &format!("window = [{first}, {}]\n", first + 100);
        }
        if i >= 3 {
            text += &format!(
                "[events.e{i}.modifiers.push]\nwhen = \"e{} or e{}\"\nfactor = 1.8\n",
                i - 3,
                i - 2
            );
        }
    }
    text += "[outcomes.deal]\nlabel = \"Deal\"\np = 0.02\nwhen = \"e10 and e20\"\n";
    text += "[outcomes.collapse]\nlabel = \"Collapse\"\np = 0.001\n";
    text += "[outcomes.collapse.modifiers.late]\nwhen = \"e40\"\nfactor = 3.0\n";
    text += "[outcomes.open]\nlabel = \"Open\"\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("synthetic.toml");
    std::fs::write(&file, text).unwrap();
    scenario::load_from(file.to_str().unwrap(), &[], dir.path())
        .unwrap()
        .model
}

fn run_parallel(model: &Model, threads: usize, paths: u64) -> u64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let options = RunOptions {
        first_path: 0,
        paths,
        seed: 1,
        keep_records: false,
    };
    let tally = simulate::run(model, &options, &pool, &AtomicBool::new(false), |_| {
        Ok::<(), ()>(())
    })
    .unwrap();
    tally.paths
}

fn presets_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("preset");
    group.throughput(Throughput::Elements(PATHS));
    group.sample_size(10);
    for name in presets::names() {
        let model = preset(name);
        for threads in [1, 2] {
            group.bench_with_input(
                BenchmarkId::new(name, format!("{threads}t")),
                &model,
                |b, m| b.iter(|| run_parallel(m, threads, PATHS)),
            );
        }
    }
    group.finish();
}

fn synthetic_bench(c: &mut Criterion) {
    let model = synthetic();
    let mut group = c.benchmark_group("synthetic_64_events_520_steps");
    group.throughput(Throughput::Elements(20_000));
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("{threads}t"), |b| {
            b.iter(|| run_parallel(&model, threads, 20_000))
        });
    }
    group.finish();
}

/// The single-threaded kernel with no tally and no runner around it.
fn kernel_bench(c: &mut Criterion) {
    // The baseline as it was in the first format (the reference kernel below draws events that
    // happen once), so the figures stay comparable across the presets' revisions.
    let v1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/v1-baseline/baseline.toml"
    );
    let model = scenario::load(v1, &[]).unwrap().model;
    let mut group = c.benchmark_group("kernel_baseline");
    group.throughput(Throughput::Elements(PATHS));
    group.sample_size(10);
    group.bench_function("jumps (pathcast)", |b| {
        let mut kernel = Kernel::new(&model, 1);
        let mut record = PathRecord::new(&model);
        b.iter(|| {
            let mut outcomes = 0usize;
            for path in 0..PATHS {
                kernel.run_path(path, &mut record);
                outcomes += record.outcome;
            }
            outcomes
        })
    });
    group.bench_function("per-step Bernoulli draws", |b| {
        let mut kernel = StepKernel::new(&model);
        b.iter(|| {
            (0..PATHS)
                .map(|path| kernel.run_path(1, path))
                .sum::<usize>()
        })
    });
    group.bench_function("ChaCha8 u64s, 32 per stream", |b| {
        b.iter(|| {
            (0..PATHS)
                .map(|path| {
                    let mut rng = path_rng(1, path);
                    (0..32).fold(0u64, |acc, _| acc ^ rng.next_u64())
                })
                .fold(0, |a, b| a ^ b)
        })
    });
    group.finish();
}

/// The straightforward simulator the jump kernel replaces: one Bernoulli draw per eligible
/// event per step, and one for the outcomes, with probabilities cached per event set.
struct StepKernel<'m> {
    model: &'m Model,
    cache: FxHashMap<u64, StepHazards>,
}

/// (index, window, probability) of the events and outcomes that may happen in an event set.
#[derive(Default)]
struct StepHazards {
    events: Vec<(usize, (u32, u32), u64)>,
    outcomes: Vec<(usize, (u32, u32), f64)>,
}

const ONE: f64 = (1u64 << 53) as f64;

impl<'m> StepKernel<'m> {
    fn new(model: &'m Model) -> Self {
        StepKernel {
            model,
            cache: FxHashMap::default(),
        }
    }

    fn run_path(&mut self, seed: u64, path: u64) -> usize {
        let model = self.model;
        let mut rng = path_rng(seed, path);
        let mut happened = 0u64;
        for t in 1..=model.horizon() {
            // Cached by event set alone: the benchmarked scenarios' probabilities do not change
            // over time, so those of any step in the window serve.
            let hazards = self.cache.entry(happened).or_insert_with(|| StepHazards {
                events: (model.events().iter().enumerate())
                    .filter(|(i, _)| happened >> i & 1 == 0)
                    .map(|(i, e)| {
                        let p = e
                            .hazard
                            .probability_in_window(happened, e.hazard.window().0);
                        (i, e.hazard.window(), (p * ONE) as u64)
                    })
                    .collect(),
                outcomes: (model.outcomes().iter().enumerate())
                    .filter_map(|(i, o)| Some((i, o.hazard.as_ref()?)))
                    .map(|(i, h)| {
                        (
                            i,
                            h.window(),
                            h.probability_in_window(happened, h.window().0),
                        )
                    })
                    .collect(),
            });
            let within = |w: (u32, u32)| w.0 <= t && t <= w.1;
            let mut new = 0u64;
            for &(i, window, threshold) in &hazards.events {
                if within(window) && threshold > 0 && rng.next_u64() >> 11 < threshold {
                    new |= 1 << i;
                }
            }
            let eligible = hazards.outcomes.iter().filter(|o| within(o.1) && o.2 > 0.0);
            let (none, total) = eligible
                .clone()
                .fold((1.0, 0.0), |(n, s), o| (n * (1.0 - o.2), s + o.2));
            if total > 0.0 {
                let u = (rng.next_u64() >> 11) as f64 / ONE;
                if u < 1.0 - none {
                    let mut point = u / (1.0 - none) * total;
                    for o in eligible {
                        if point < o.2 {
                            return o.0;
                        }
                        point -= o.2;
                    }
                }
            }
            happened |= new;
        }
        model.horizon_outcome(happened)
    }
}

criterion_group!(benches, kernel_bench, presets_bench, synthetic_bench);
criterion_main!(benches);
