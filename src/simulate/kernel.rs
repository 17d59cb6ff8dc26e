//! One path of the chain, drawn with as few random numbers as the semantics allow.
//!
//! Between two changes of the event set, and inside one segment (a run of steps in which no
//! window opens or closes), every hazard is constant. So instead of one Bernoulli draw per
//! event per step, the kernel draws the waiting time to the next step at which anything
//! happens (geometric, by inversion), then which of the eligible items happened at that step
//! given that at least one did. Memorylessness makes this exactly the step-by-step chain of
//! the scenario format: see `docs/scenario-format.md` and the checks against the exact solver.
//!
//! Random stream: path `i` of seed `s` uses ChaCha8 keyed by `s` (via `seed_from_u64`) on
//! stream `i`, from word 0. Each draw is the top 53 bits of one `u64`. Per jump: one draw for
//! the waiting time; if the jump lands inside the segment, one for the first item to happen,
//! one per later eligible event, one for the outcome block when it comes after the first
//! item, and one to choose the outcome when the block happens.

use crate::model::Model;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

/// Thresholds are 53-bit fixed point: a draw `u` in [0, 2^53) passes `threshold` when
/// `u < threshold`, so 0 never passes and `ONE` always does.
const ONE: u64 = 1 << 53;
/// The cache of per-state tables is emptied when it holds this many, to keep memory flat.
const MAX_CACHED_TABLES: usize = 1 << 14;

fn fixed(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * ONE as f64).round() as u64
}

/// The random stream of one path.
pub fn path_rng(seed: u64, path: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(path);
    rng
}

fn draw(rng: &mut ChaCha8Rng) -> u64 {
    rng.next_u64() >> 11
}

/// The first index whose cumulative threshold exceeds `u`.
fn pick(cumulative: &[u64], u: u64) -> usize {
    cumulative
        .iter()
        .position(|&c| u < c)
        .unwrap_or(cumulative.len() - 1)
}

/// Everything the kernel needs for one (event set, segment): precomputed once, reused by
/// every path that passes through that state.
#[derive(Debug)]
struct StateTable {
    /// ln P(nothing happens at a step); 0 when nothing can happen.
    ln_none: f64,
    /// Cumulative thresholds of "item i is the first to happen, given that one did"; the
    /// items are the eligible events in order, then the outcome block.
    first: Vec<u64>,
    /// Eligible events: (bit, threshold of happening at a step).
    events: Vec<(u8, u64)>,
    /// Threshold of "some outcome happens at a step" (0 when no outcome is eligible).
    outcome_threshold: u64,
    /// Eligible outcomes, and the cumulative thresholds of being the one that happens.
    outcomes: Vec<usize>,
    outcome_choice: Vec<u64>,
}

impl StateTable {
    fn new(model: &Model, happened: u64, segment: usize) -> StateTable {
        let hazards = model.step_hazards(happened, model.segments[segment].0);
        let mut ln_none = 0.0;
        let mut partial = Vec::new();
        for &(_, p) in &hazards.events {
            ln_none += libm::log1p(-p);
            partial.push(ln_none);
        }
        let ln_no_outcome: f64 = hazards.outcomes.iter().map(|&(_, h)| libm::log1p(-h)).sum();
        if !hazards.outcomes.is_empty() {
            ln_none += ln_no_outcome;
            partial.push(ln_none);
        }
        let any = -libm::expm1(ln_none);
        let mut first: Vec<u64> = partial
            .iter()
            .map(|&l| fixed(-libm::expm1(l) / any))
            .collect();
        if let Some(last) = first.last_mut() {
            *last = ONE;
        }
        let total_hazard: f64 = hazards.outcomes.iter().map(|&(_, h)| h).sum();
        let mut cumulative = 0.0;
        let mut outcome_choice: Vec<u64> = hazards
            .outcomes
            .iter()
            .map(|&(_, h)| {
                cumulative += h;
                fixed(cumulative / total_hazard)
            })
            .collect();
        if let Some(last) = outcome_choice.last_mut() {
            *last = ONE;
        }
        StateTable {
            ln_none,
            first,
            events: hazards
                .events
                .iter()
                .map(|&(e, p)| (e as u8, fixed(p)))
                .collect(),
            outcome_threshold: fixed(-libm::expm1(ln_no_outcome)),
            outcomes: hazards.outcomes.iter().map(|&(o, _)| o).collect(),
            outcome_choice,
        }
    }
}

/// How one path went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRecord {
    pub path: u64,
    pub outcome: usize,
    /// The step of the outcome (the horizon for a horizon outcome).
    pub step: u32,
    /// The set of events that happened.
    pub happened: u64,
    /// Whether the path reached the horizon (its outcome then comes from the horizon rules).
    pub by_horizon: bool,
    /// The step at which each event happened, 0 if it did not.
    pub event_steps: Vec<u32>,
}

impl PathRecord {
    pub fn new(model: &Model) -> PathRecord {
        PathRecord {
            path: 0,
            outcome: 0,
            step: 0,
            happened: 0,
            by_horizon: false,
            event_steps: vec![0; model.events.len()],
        }
    }
}

/// Simulates paths of one model; keeps a cache of state tables, so reuse it across paths.
pub struct Kernel<'m> {
    model: &'m Model,
    base: ChaCha8Rng,
    index: FxHashMap<(u64, u16), usize>,
    tables: Vec<StateTable>,
}

impl<'m> Kernel<'m> {
    pub fn new(model: &'m Model, seed: u64) -> Kernel<'m> {
        Kernel {
            model,
            base: ChaCha8Rng::seed_from_u64(seed),
            index: FxHashMap::default(),
            tables: Vec::new(),
        }
    }

    fn table(&mut self, happened: u64, segment: usize) -> usize {
        let key = (happened, segment as u16);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        if self.tables.len() >= MAX_CACHED_TABLES {
            self.index.clear();
            self.tables.clear();
        }
        self.tables
            .push(StateTable::new(self.model, happened, segment));
        self.index.insert(key, self.tables.len() - 1);
        self.tables.len() - 1
    }

    /// Simulates path number `path` into `record`.
    pub fn run_path(&mut self, path: u64, record: &mut PathRecord) {
        // A clone of the unused base generator equals a fresh `seed_from_u64(seed)`, at word 0.
        let mut rng = self.base.clone();
        rng.set_stream(path);
        record.path = path;
        record.event_steps.fill(0);
        let model = self.model;
        let mut happened = 0u64;
        let mut t = 1;
        while t <= model.horizon {
            let segment = model.segment_of[t as usize] as usize;
            let segment_end = model.segments[segment].1;
            let index = self.table(happened, segment);
            let table = &self.tables[index];
            if table.ln_none == 0.0 {
                t = segment_end + 1;
                continue;
            }
            // Steps until something happens: the smallest k with u < 1 - none^k.
            let u = draw(&mut rng) as f64 / ONE as f64;
            let waited = libm::log1p(-u) / table.ln_none;
            if waited >= f64::from(segment_end - t + 1) {
                t = segment_end + 1;
                continue;
            }
            let at = t + waited as u32;
            let first = pick(&table.first, draw(&mut rng));
            for (j, &(bit, threshold)) in table.events.iter().enumerate().skip(first) {
                if j == first || draw(&mut rng) < threshold {
                    happened |= 1 << bit;
                    record.event_steps[bit as usize] = at;
                }
            }
            let outcome_block = table.events.len();
            if !table.outcomes.is_empty()
                && (first == outcome_block || draw(&mut rng) < table.outcome_threshold)
            {
                record.outcome = table.outcomes[pick(&table.outcome_choice, draw(&mut rng))];
                record.step = at;
                record.happened = happened;
                record.by_horizon = false;
                return;
            }
            t = at + 1;
        }
        record.outcome = model.horizon_outcome(happened);
        record.step = model.horizon;
        record.happened = happened;
        record.by_horizon = true;
    }
}
