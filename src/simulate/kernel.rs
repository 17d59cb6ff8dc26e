//! One path of the chain, drawn with as few random numbers as the semantics allow.
//!
//! Between two changes of the event set, and inside one segment (a run of steps in which no
//! window opens or closes), every hazard is constant. So instead of one Bernoulli draw per
//! event per step, the kernel draws the waiting time to the next step at which anything
//! happens (geometric, by inversion), then what happened at that step given that something
//! did. Memorylessness makes this exactly the step-by-step chain of the scenario format: see
//! `docs/scenario-format.md` and the checks against the exact solver.
//!
//! What happens at a step is drawn as a chain over the uncertain items (the eligible events
//! with 0 < p < 1 in event order, then the block of eligible outcomes): the first item to
//! happen, then the next one after it, and so on. With `none[k]` the probability that none of
//! items 0..=k happens, the next item after item i is the smallest j > i with
//! `none[j] < (1 - u) * none[i]`: one uniform per item that happens, plus one that ends the
//! chain. Items with p = 1 happen at the next step for sure and are not drawn.
//!
//! Random stream: path `i` of seed `s` uses ChaCha8 keyed by `s` (via `seed_from_u64`) on
//! stream `i`, from word 0. Each draw is the top 53 bits of one `u64`. Per jump: unless
//! something is certain, one draw for the waiting time and, if it lands inside the segment,
//! one for the first item; then one per further draw of the chain (none after the outcome
//! block, which is last); and one to choose the outcome when the block happens and more than
//! one outcome is eligible.

use crate::model::{bits, Model, StepHazards};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

/// Thresholds are 53-bit fixed point: a draw `u` in [0, 2^53) passes `threshold` when
/// `u < threshold`, so 0 never passes and `ONE` always does.
const ONE: u64 = 1 << 53;
/// The cache of per-state tables is emptied when it holds this many, to keep memory flat.
const MAX_CACHED_TABLES: usize = 1 << 14;
/// Waiting times up to this many steps are inverted by table; longer ones by a logarithm.
const WAIT_TABLE_STEPS: usize = 64;

fn fixed(p: f64) -> u64 {
    // Rounds to nearest; cheaper than f64::round, which is a library call.
    (p.clamp(0.0, 1.0) * ONE as f64 + 0.5) as u64
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

/// A uniform number in (0, 1]: one minus a draw.
fn draw_complement(rng: &mut ChaCha8Rng) -> f64 {
    (ONE - draw(rng)) as f64 / ONE as f64
}

/// The first index whose cumulative threshold exceeds `u`.
fn pick(cumulative: &[u64], u: u64) -> usize {
    cumulative
        .partition_point(|&c| c <= u)
        .min(cumulative.len() - 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Event(u8),
    Outcomes,
}

/// Everything the kernel needs for one (event set, segment): precomputed once, reused by
/// every path that passes through that state.
#[derive(Debug, Default)]
struct StateTable {
    /// Events with p = 1: they happen at the next step.
    certain: u64,
    /// Whether an eligible outcome has h = 1, so the outcome block happens at the next step.
    certain_outcome: bool,
    /// Items that may or may not happen at a step, in draw order.
    items: Vec<Item>,
    /// `none[k]`: probability that none of items 0..=k happens at a step.
    none: Vec<f64>,
    /// Cumulative thresholds of "item k is the first to happen, given that one did".
    first: Vec<u64>,
    /// `wait[k - 1]`: threshold of "something happens within k steps", for the first steps
    /// of the segment.
    wait: Vec<u64>,
    /// ln P(no item happens at a step), for waits beyond the table.
    ln_none: f64,
    /// Eligible outcomes, and the cumulative thresholds of being the one that happens.
    outcomes: Vec<usize>,
    outcome_choice: Vec<u64>,
}

/// P(at least one happens) for independent chances, accumulated as a + q (1 - a): there is no
/// cancellation, so rare hazards keep their relative precision.
fn at_least_one(before: f64, q: f64) -> f64 {
    before + q * (1.0 - before)
}

impl StateTable {
    /// Makes this the table of (`happened`, `segment`), reusing its buffers; `hazards` is a
    /// scratch buffer.
    fn fill(&mut self, model: &Model, happened: u64, segment: usize, hazards: &mut StepHazards) {
        let (first_step, last_step) = model.segments()[segment];
        model.step_hazards_into(happened, first_step, hazards);
        self.certain = 0;
        self.items.clear();
        self.none.clear();
        self.first.clear();
        let mut any = 0.0;
        for &(e, p) in &hazards.events {
            if p >= 1.0 {
                self.certain |= 1 << e;
            } else {
                self.items.push(Item::Event(e as u8));
                any = at_least_one(any, p);
                self.none.push(any);
            }
        }
        self.certain_outcome = hazards.outcomes.iter().any(|&(_, h)| h >= 1.0);
        let some_outcome = hazards
            .outcomes
            .iter()
            .fold(0.0, |a, &(_, h)| at_least_one(a, h));
        if !hazards.outcomes.is_empty() && !self.certain_outcome {
            self.items.push(Item::Outcomes);
            any = at_least_one(any, some_outcome);
            self.none.push(any);
        }
        // `none` holds P(at least one of items 0..=k) until here.
        self.first.extend(self.none.iter().map(|&a| fixed(a / any)));
        if let Some(last) = self.first.last_mut() {
            *last = ONE;
        }
        self.none.iter_mut().for_each(|a| *a = 1.0 - *a);
        let steps = ((last_step - first_step + 1) as usize).min(WAIT_TABLE_STEPS);
        let mut within = 0.0;
        self.wait.clear();
        self.wait.extend((0..steps).map(|_| {
            within = at_least_one(within, any);
            fixed(within)
        }));
        self.ln_none = libm::log1p(-any);
        let total_hazard: f64 = hazards.outcomes.iter().map(|&(_, h)| h).sum();
        let mut cumulative = 0.0;
        self.outcomes.clear();
        self.outcome_choice.clear();
        for &(o, h) in &hazards.outcomes {
            cumulative += h;
            self.outcomes.push(o);
            self.outcome_choice.push(fixed(cumulative / total_hazard));
        }
        if let Some(last) = self.outcome_choice.last_mut() {
            *last = ONE;
        }
    }

    fn is_certain(&self) -> bool {
        self.certain != 0 || self.certain_outcome
    }

    /// Steps from the current one until something happens (0 = at the current step), or
    /// `None` if nothing happens within the `remaining` steps of the segment.
    fn wait(&self, rng: &mut ChaCha8Rng, remaining: u32) -> Option<u32> {
        let u = draw(rng);
        let tabled = self.wait.len().min(remaining as usize);
        if u < self.wait[tabled - 1] {
            return Some(self.wait[..tabled].partition_point(|&c| c <= u) as u32);
        }
        if tabled == remaining as usize {
            return None;
        }
        // Beyond the table: the smallest k with u < 1 - none^k, by the logarithm.
        let waited = libm::log1p(-(u as f64 / ONE as f64)) / self.ln_none;
        (waited < f64::from(remaining)).then_some(waited as u32)
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
    /// The memory a record of `model` holds, in bytes (with the allocator's bookkeeping).
    pub fn bytes(model: &Model) -> usize {
        std::mem::size_of::<PathRecord>() + model.events().len() * std::mem::size_of::<u32>() + 16
    }

    pub fn new(model: &Model) -> PathRecord {
        PathRecord {
            path: 0,
            outcome: 0,
            step: 0,
            happened: 0,
            by_horizon: false,
            event_steps: vec![0; model.events().len()],
        }
    }
}

/// The state tables met so far, by (event set, segment).
struct TableCache {
    index: FxHashMap<(u64, u16), usize>,
    /// Tables `..live` are in use; the rest keep their buffers for reuse after a clear.
    tables: Vec<StateTable>,
    live: usize,
    scratch: StepHazards,
}

impl TableCache {
    fn get(&mut self, model: &Model, happened: u64, segment: usize) -> &StateTable {
        let key = (happened, segment as u16);
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                if self.live >= MAX_CACHED_TABLES {
                    self.index.clear();
                    self.live = 0;
                }
                if self.live == self.tables.len() {
                    self.tables.push(StateTable::default());
                }
                let i = self.live;
                self.tables[i].fill(model, happened, segment, &mut self.scratch);
                self.live += 1;
                self.index.insert(key, i);
                i
            }
        };
        &self.tables[i]
    }
}

/// Simulates paths of one model; keeps a cache of state tables, so reuse it across paths.
pub struct Kernel<'m> {
    model: &'m Model,
    /// Never used itself: each path starts from a clone of it.
    base: ChaCha8Rng,
    cache: TableCache,
}

impl<'m> Kernel<'m> {
    /// The most memory a kernel of `model` can hold, in bytes: a full cache of state tables,
    /// each with buffers of the largest sizes `StateTable::fill` can give them (vectors grown
    /// by pushing have a power of two as capacity), plus the index.
    pub fn max_bytes(model: &Model) -> usize {
        use std::mem::size_of;
        let pushed = |n: usize| n.next_power_of_two().max(4);
        let items = model.events().len() + 1;
        let outcomes = model.outcomes().len();
        let buffers = pushed(items) * (size_of::<Item>() + size_of::<f64>() + size_of::<u64>())
            + pushed(WAIT_TABLE_STEPS) * size_of::<u64>()
            + pushed(outcomes) * (size_of::<usize>() + size_of::<u64>());
        // Six allocations of 16 bytes of bookkeeping each; the index has at most two buckets
        // per table, of a key, a value and a control byte.
        let table = size_of::<StateTable>() + buffers + 6 * 16;
        let index = 2 * (size_of::<((u64, u16), usize)>() + 1);
        MAX_CACHED_TABLES * (table + index)
    }

    pub fn new(model: &'m Model, seed: u64) -> Kernel<'m> {
        Kernel {
            model,
            base: ChaCha8Rng::seed_from_u64(seed),
            cache: TableCache {
                index: FxHashMap::default(),
                tables: Vec::new(),
                live: 0,
                scratch: StepHazards::default(),
            },
        }
    }

    /// An empty record for paths of this kernel's model.
    pub fn new_record(&self) -> PathRecord {
        PathRecord::new(self.model)
    }

    /// Simulates path number `path` into `record`.
    pub fn run_path(&mut self, path: u64, record: &mut PathRecord) {
        // A clone of the unused base generator is a fresh `seed_from_u64(seed)` at word 0, so
        // on stream `path` it is `path_rng(seed, path)` (cheaper than `set_word_pos(0)`).
        let rng = &mut self.base.clone();
        rng.set_stream(path);
        record.path = path;
        record.event_steps.fill(0);
        let model = self.model;
        let mut happened = 0u64;
        let mut t = 1;
        while t <= model.horizon() {
            let segment = model.segment_of(t);
            let segment_end = model.segments()[segment].1;
            let table = self.cache.get(model, happened, segment);
            let at = if table.is_certain() {
                t
            } else if table.items.is_empty() {
                t = segment_end + 1;
                continue;
            } else if let Some(waited) = table.wait(rng, segment_end - t + 1) {
                t + waited
            } else {
                t = segment_end + 1;
                continue;
            };
            let mut new = table.certain;
            let mut outcome_block = table.certain_outcome;
            let mut happen = |item: Item| match item {
                Item::Event(bit) => new |= 1 << bit,
                Item::Outcomes => outcome_block = true,
            };
            let mut level = 1.0;
            let mut next = 0;
            if !table.is_certain() {
                let i = pick(&table.first, draw(rng));
                happen(table.items[i]);
                level = table.none[i];
                next = i + 1;
            }
            while next < table.items.len() {
                let v = draw_complement(rng) * level;
                let j = next + table.none[next..].partition_point(|&n| n >= v);
                if j == table.items.len() {
                    break;
                }
                happen(table.items[j]);
                level = table.none[j];
                next = j + 1;
            }
            happened |= new;
            for e in bits(new) {
                record.event_steps[e] = at;
            }
            if outcome_block {
                let choice = if table.outcomes.len() == 1 {
                    0
                } else {
                    pick(&table.outcome_choice, draw(rng))
                };
                record.outcome = table.outcomes[choice];
                record.step = at;
                record.happened = happened;
                record.by_horizon = false;
                return;
            }
            t = at + 1;
        }
        record.outcome = model.horizon_outcome(happened);
        record.step = model.horizon();
        record.happened = happened;
        record.by_horizon = true;
    }
}
