//! The synthetic suite of issue 15: single-threaded pathcast (the jump kernel) against a
//! per-step Bernoulli kernel on the same scenarios, from 4 to 64 events, horizons 13 to 2,600,
//! independent, sparse and dense conditions.
//!
//! Run with `cargo bench --bench suite` (`-- --quick` for shorter timings, `-- --write DIR` to
//! also write the scenarios as TOML files, `-- --write-only DIR` to write them and stop: this
//! is where `benches/compare_numpy.sh` gets them, so the suite is generated in one place). The
//! two kernels are timed alternately, three rounds each, and the table shows the best round of
//! each and their ratio: run it on an otherwise idle machine, and compare ratios, not figures.

use pathcast::model::Model;
use pathcast::scenario;
use pathcast::simulate::{path_rng, Kernel, Method, PathRecord, Tally};
use rand::RngCore;
use std::time::Instant;

/// How events depend on each other.
#[derive(Clone, Copy)]
enum Shape {
    /// No conditions, no modifiers.
    Independent,
    /// Every fourth event gated on the one before; one modifier on every third.
    Sparse,
    /// Every event gated (on one of the two before, or the absence of another) and two
    /// modifiers each.
    Dense,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Independent => "independent",
            Shape::Sparse => "sparse",
            Shape::Dense => "dense",
        }
    }
}

/// A scenario of `events` events over `horizon` steps; rates scale with the horizon so that a
/// path sees a fair share of its events happen.
fn scenario_text(shape: Shape, events: usize, horizon: u32) -> String {
    let id = format!("{}_{events}_{horizon}", shape.name());
    let mut text = format!("[scenario]\nid = \"{id}\"\nhorizon = {horizon}\n\n");
    let rate = |i: usize| (1.0 + 0.25 * (i % 5) as f64) / f64::from(horizon);
    for i in 0..events {
        text += &format!("[events.e{i}]\nlabel = \"Event {i}\"\np = {:.6}\n", rate(i));
        match shape {
            Shape::Independent => {}
            Shape::Sparse => {
                if i % 4 == 1 {
                    text += &format!("when = \"e{}\"\n", i - 1);
                }
                if i % 3 == 2 && i >= 2 {
                    text += &format!(
                        "[events.e{i}.modifiers.push]\nwhen = \"e{}\"\nfactor = 2.0\n",
                        i - 2
                    );
                }
            }
            Shape::Dense => {
                if i >= 2 {
                    text += &format!(
                        "when = \"e{} or e{} or not e{}\"\n",
                        i - 1,
                        i - 2,
                        (i + 3) % events
                    );
                }
                text += &format!(
                    "[events.e{i}.modifiers.up]\nwhen = \"e{} and not e{}\"\nfactor = 1.8\n",
                    (i + 1) % events,
                    (i + 5) % events
                );
                text += &format!(
                    "[events.e{i}.modifiers.down]\nwhen = \"e{}\"\nfactor = 0.6\n",
                    (i + 7) % events
                );
            }
        }
    }
    let last = events - 1;
    text += &format!(
        "[outcomes.deal]\nlabel = \"Deal\"\np = {:.6}\nwhen = \"e0 and e{last}\"\n",
        8.0 / f64::from(horizon)
    );
    text += &format!(
        "[outcomes.collapse]\nlabel = \"Collapse\"\np = {:.6}\n",
        0.3 / f64::from(horizon)
    );
    text += &format!(
        "[outcomes.collapse.modifiers.late]\nwhen = \"e{}\"\nfactor = 3.0\n",
        events / 2
    );
    text += "[outcomes.open]\nlabel = \"Open\"\n[horizon]\ndefault = \"open\"\n";
    text
}

fn load(text: &str) -> Model {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suite.toml");
    std::fs::write(&file, text).unwrap();
    scenario::load_from(file.to_str().unwrap(), &[], dir.path())
        .unwrap()
        .model
}

/// The straightforward simulator: one Bernoulli draw (integer uniform against an integer
/// threshold) per eligible event per step, and one for the block of outcomes; the
/// probabilities of every event and outcome recomputed only when the event set changes, and
/// windows checked per step.
struct StepKernel<'m> {
    model: &'m Model,
    /// (event, window, threshold) of the events not yet happened, with p > 0.
    events: Vec<(usize, (u32, u32), u64)>,
    outcomes: Vec<(usize, (u32, u32), f64)>,
}

const ONE: f64 = (1u64 << 53) as f64;

impl<'m> StepKernel<'m> {
    fn new(model: &'m Model) -> Self {
        StepKernel {
            model,
            events: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    /// The hazards after `happened`; the suite's probabilities do not change over time, so
    /// those of any step in the window serve.
    fn hazards(&mut self, happened: u64) {
        let model = self.model;
        self.events.clear();
        for (i, e) in model.events().iter().enumerate() {
            if happened >> i & 1 == 0 {
                let p = e
                    .hazard
                    .probability_in_window(happened, e.hazard.window().0);
                if p > 0.0 {
                    self.events.push((i, e.hazard.window(), (p * ONE) as u64));
                }
            }
        }
        self.outcomes.clear();
        for (i, o) in model.outcomes().iter().enumerate() {
            if let Some(h) = &o.hazard {
                let p = h.probability_in_window(happened, h.window().0);
                if p > 0.0 {
                    self.outcomes.push((i, h.window(), p));
                }
            }
        }
    }

    fn run_path(&mut self, seed: u64, path: u64, record: &mut PathRecord) {
        let model = self.model;
        let mut rng = path_rng(seed, path);
        record.event_steps.fill(0);
        let mut happened = 0u64;
        self.hazards(happened);
        for t in 1..=model.horizon() {
            let within = |w: (u32, u32)| w.0 <= t && t <= w.1;
            let mut new = 0u64;
            for &(i, window, threshold) in &self.events {
                if within(window) && rng.next_u64() >> 11 < threshold {
                    new |= 1 << i;
                    record.event_steps[i] = t;
                }
            }
            let (mut none, mut total) = (1.0, 0.0);
            for o in self.outcomes.iter().filter(|o| within(o.1)) {
                none *= 1.0 - o.2;
                total += o.2;
            }
            if total > 0.0 {
                let u = (rng.next_u64() >> 11) as f64 / ONE;
                if u < 1.0 - none {
                    let mut point = u / (1.0 - none) * total;
                    for o in self.outcomes.iter().filter(|o| within(o.1)) {
                        if point < o.2 {
                            record.outcome = o.0;
                            break;
                        }
                        point -= o.2;
                    }
                    record.step = t;
                    record.happened = happened | new;
                    return;
                }
            }
            if new != 0 {
                happened |= new;
                self.hazards(happened);
            }
        }
        record.outcome = model.horizon_outcome(happened);
        record.step = model.horizon();
        record.happened = happened;
    }
}

/// Paths per second of `run` (called with a path count), timed over at least `seconds`.
fn rate(seconds: f64, mut run: impl FnMut(u64, u64)) -> f64 {
    let mut paths = 500;
    let mut first = 0;
    loop {
        let started = Instant::now();
        run(first, paths);
        let took = started.elapsed().as_secs_f64();
        first += paths;
        if took >= seconds {
            return paths as f64 / took;
        }
        paths = (paths as f64 * (seconds / took.max(1e-4)).min(10.0) * 1.1) as u64 + 1;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |flag: &str| {
        args.iter().position(|a| a == flag).map(|i| {
            args.get(i + 1)
                .unwrap_or_else(|| panic!("{flag} needs a folder"))
                .clone()
        })
    };
    let write_only = value("--write-only");
    let write = value("--write").or(write_only.clone());
    let seconds = if quick { 0.1 } else { 0.3 };
    let cases: &[(Shape, usize, u32)] = &[
        (Shape::Independent, 4, 52),
        (Shape::Independent, 16, 52),
        (Shape::Independent, 64, 52),
        (Shape::Independent, 64, 520),
        (Shape::Sparse, 4, 13),
        (Shape::Sparse, 8, 52),
        (Shape::Sparse, 16, 260),
        (Shape::Sparse, 32, 52),
        (Shape::Sparse, 64, 520),
        (Shape::Sparse, 64, 2600),
        (Shape::Dense, 8, 52),
        (Shape::Dense, 16, 52),
        (Shape::Dense, 32, 520),
        (Shape::Dense, 64, 52),
        (Shape::Dense, 64, 520),
        (Shape::Dense, 64, 2600),
    ];
    if let Some(dir) = write_only {
        std::fs::create_dir_all(&dir).unwrap();
        for &(shape, events, horizon) in cases {
            let text = scenario_text(shape, events, horizon);
            let model = load(&text);
            std::fs::write(format!("{dir}/{}.toml", model.id()), &text).unwrap();
            println!("{}", model.id());
        }
        return;
    }
    println!(
        "{:<22} {:>8} {:>12} {:>12} {:>12} {:>8}",
        "scenario (1 thread)", "method", "jumps /s", "clocks /s", "per-step /s", "ratio"
    );
    let mut worst = f64::INFINITY;
    for &(shape, events, horizon) in cases {
        let text = scenario_text(shape, events, horizon);
        let model = load(&text);
        if let Some(dir) = &write {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(format!("{dir}/{}.toml", model.id()), &text).unwrap();
        }
        let [jumps, clocks, step] = best_rates(&model, seconds, true);
        let picked = match Method::for_model(&model) {
            Method::Jumps => jumps,
            Method::Clocks => clocks,
        };
        worst = worst.min(picked / step);
        println!(
            "{:<22} {:>8} {jumps:>12.0} {clocks:>12.0} {step:>12.0} {:>8.2}",
            model.id(),
            method_name(&model),
            picked / step
        );
    }
    // The presets' kind of scenario, where states recur: the per-step kernel above does not
    // implement what they use (events that end, rates).
    let v1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/v1-baseline/baseline.toml"
    );
    for (name, source) in [("v1 baseline", v1), ("baseline", "baseline")] {
        let dir = tempfile::tempdir().unwrap();
        let model = scenario::load_from(source, &[], dir.path()).unwrap().model;
        let [jumps, clocks, _] = best_rates(&model, seconds, false);
        println!(
            "{name:<22} {:>8} {jumps:>12.0} {clocks:>12.0}",
            method_name(&model)
        );
    }
    println!("smallest ratio pathcast (its method) / per-step: {worst:.2}");
}

fn method_name(model: &Model) -> &'static str {
    match Method::for_model(model) {
        Method::Jumps => "jumps",
        Method::Clocks => "clocks",
    }
}

/// Best paths/s of three rounds of pathcast by jumps, by clocks, and of the per-step kernel
/// (if `step`), timed alternately.
fn best_rates(model: &Model, seconds: f64, step: bool) -> [f64; 3] {
    let mut best = [0f64; 3];
    let mut record = PathRecord::new(model);
    for _ in 0..3 {
        for (i, method) in [Method::Jumps, Method::Clocks].into_iter().enumerate() {
            // A fresh kernel per round, as a run starts one per thread.
            let mut kernel = Kernel::with_method(model, 1, method);
            let mut tally = Tally::new(model);
            best[i] = best[i].max(rate(seconds, |first, n| {
                for path in first..first + n {
                    kernel.run_path(path, &mut record);
                    tally.add(&record);
                }
            }));
        }
        if step {
            let mut kernel = StepKernel::new(model);
            let mut tally = Tally::new(model);
            best[2] = best[2].max(rate(seconds, |first, n| {
                for path in first..first + n {
                    kernel.run_path(1, path, &mut record);
                    tally.add(&record);
                }
            }));
        }
    }
    best
}
