//! The sets held within a step as a dense table: one mass for every combination of the bits a
//! set can have, for the steps at which most combinations are reached.
//!
//! Applying an event to sorted lists (see `Lists::apply` in the parent module) costs a copy of the moved
//! sets and a merge; on a table it is one pass that moves mass from each set without the event to
//! the set with it, in place. The table does every addition the lists do, on the same operands
//! (a set missing from the lists is a 0 in the table, and x + 0 = x), so both give the same
//! numbers to the last bit: which one a step uses changes only its speed.

use super::memo::EventMemo;
use super::EventStep;
use crate::model::bits;
use rayon::prelude::*;

/// Positions in a dense index of the bits of a set, both ways, a byte at a time.
#[derive(Clone)]
struct Squeeze {
    /// For byte j of a set, the index bits of its bits.
    to_index: Vec<[usize; 256]>,
    /// For byte j of an index, the set bits of its bits.
    to_set: Vec<[u64; 256]>,
}

impl Squeeze {
    /// Packs the bits of `mask` into the low bits of an index, in order.
    fn new(mask: u64) -> Squeeze {
        let positions: Vec<usize> = bits(mask).collect();
        let to_index = (0..8)
            .map(|j| {
                std::array::from_fn(|byte| {
                    positions.iter().enumerate().fold(0usize, |acc, (i, &b)| {
                        let on = b / 8 == j && byte >> (b % 8) & 1 == 1;
                        acc | usize::from(on) << i
                    })
                })
            })
            .collect();
        let to_set = (0..positions.len().div_ceil(8))
            .map(|j| {
                std::array::from_fn(|byte| {
                    (0..8).fold(0u64, |acc, k| match positions.get(8 * j + k) {
                        Some(&b) if byte >> k & 1 == 1 => acc | 1 << b,
                        _ => acc,
                    })
                })
            })
            .collect();
        Squeeze { to_index, to_set }
    }

    fn index(&self, set: u64) -> usize {
        self.to_index.iter().enumerate().fold(0, |i, (j, table)| {
            i | table[(set >> (8 * j)) as usize & 255]
        })
    }

    fn set(&self, index: usize) -> u64 {
        self.to_set
            .iter()
            .enumerate()
            .fold(0, |s, (j, table)| s | table[index >> (8 * j) & 255])
    }
}

/// How a dense table is indexed: `(set squeezed over the bits in use) << carried bits | (old
/// values squeezed)`, so that ascending indices are the lists' order.
struct Index {
    set: Squeeze,
    old: Squeeze,
    used: u64,
    carried: u64,
    /// Bits of the index that hold the old values.
    old_width: u32,
}

impl Index {
    fn of(&self, cur: u64, old: u64) -> usize {
        self.set.index(cur) << self.old_width | self.old.index(old)
    }

    /// The set an index stands for, with the old values in place of the carried bits: the set
    /// whose bits an event applied now reads.
    fn read_set(&self, index: usize) -> u64 {
        let cur = self.set.set(index >> self.old_width);
        (cur & !self.carried) | self.old.set(index & ((1 << self.old_width) - 1))
    }

    /// The index bit of set bit `bit`.
    fn position(&self, bit: u8) -> usize {
        1 << (self.old_width + (self.used & ((1 << bit) - 1)).count_ones())
    }

    /// The probability that the event of `memo` changes in the set of index `i` of mass `mass`
    /// (0 for no mass: such a set moves nothing either way).
    fn probability(&self, i: usize, mass: f64, memo: &mut EventMemo<'_>) -> f64 {
        if mass == 0.0 {
            0.0
        } else {
            memo.change_probability(self.read_set(i))
        }
    }
}

/// A pass over the table is split into about this many tasks (fewer when the event's bits are
/// high in the index: a task must hold every set it moves mass between).
const TASKS: usize = 16;
/// Entries a task takes at least.
const TASK_ENTRIES: usize = 1 << 14;

/// The masses of every (set, old values of the carried bits) a step can hold.
pub(crate) struct DenseSets {
    index: Index,
    masses: Vec<f64>,
}

impl DenseSets {
    /// A table for sets with bits in `used` and old values of `carried` (within `used`), if it
    /// has at most `most` entries.
    pub(crate) fn new(used: u64, carried: u64, most: usize) -> Option<DenseSets> {
        let width = used.count_ones() + carried.count_ones();
        if width >= usize::BITS - 1 || 1usize << width > most {
            return None;
        }
        Some(DenseSets {
            index: Index {
                set: Squeeze::new(used),
                old: Squeeze::new(carried),
                used,
                carried,
                old_width: carried.count_ones(),
            },
            masses: Vec::new(),
        })
    }

    /// Entries the table has.
    pub(crate) fn size(&self) -> usize {
        1 << (self.index.used.count_ones() + self.index.old_width)
    }

    /// Holds exactly the sets `(cur, old, mass)` of `sets`.
    pub(crate) fn load(&mut self, sets: impl Iterator<Item = (u64, u64, f64)>) {
        self.masses.clear();
        self.masses.resize(self.size(), 0.0);
        for (cur, old, mass) in sets {
            let i = self.index.of(cur, old);
            self.masses[i] = mass;
        }
    }

    /// Applies one event of the step, as the lists do: each set that the event changes with
    /// probability p keeps (1 - p) of its mass and moves p of it to the set it changes into.
    /// Sets far apart in the table are moved by separate tasks, in parallel: each entry's new
    /// mass depends on the same few old ones whichever task computes it.
    pub(crate) fn apply(&mut self, step: &EventStep<'_>, memo: &mut EventMemo<'_>) {
        let index = &self.index;
        let own = index.position(step.event as u8);
        let ever = if step.can_end() {
            index.position(step.model.ever_bit(step.event))
        } else {
            own
        };
        let task = (self.masses.len() / TASKS)
            .max(2 * own.max(ever))
            .max(TASK_ENTRIES)
            .min(self.masses.len());
        let pass = |memo: &mut EventMemo<'_>, (k, masses): (usize, &mut [f64])| {
            if ever == own {
                apply_once(index, masses, k * task, own, memo);
            } else {
                apply_ending(index, masses, k * task, own, ever, memo);
            }
        };
        if task == self.masses.len() {
            pass(memo, (0, &mut self.masses));
        } else {
            self.masses
                .par_chunks_mut(task)
                .enumerate()
                .for_each_init(|| memo.clone(), pass);
        }
    }

    /// Ends the step: the mass of every set, the old values added up in the lists' order, into
    /// `running` (sets with mass only, in order).
    pub(crate) fn collapse_into(&self, running: &mut Vec<(u64, f64)>) {
        running.clear();
        let olds = 1 << self.index.old_width;
        for (s, masses) in self.masses.chunks_exact(olds).enumerate() {
            let mass = masses[1..].iter().fold(masses[0], |sum, &m| sum + m);
            if mass > 0.0 {
                running.push((self.index.set.set(s), mass));
            }
        }
    }
}

/// An event that cannot end, on the entries from index `base` on: a set without it moves p to
/// the set with it, which stays.
fn apply_once(
    index: &Index,
    masses: &mut [f64],
    base: usize,
    own: usize,
    memo: &mut EventMemo<'_>,
) {
    let constant = memo.constant().map(|(start, _)| start);
    let mut i = 0;
    while i < masses.len() {
        let a = masses[i];
        let p = constant.unwrap_or_else(|| index.probability(base + i, a, memo));
        masses[i] = a * (1.0 - p);
        masses[i | own] += a * p;
        i = next_without(i, own);
    }
}

/// An event that can end, on the entries from index `base` on: never started (own and ever
/// bits clear), in effect (both set) and ended (the ever bit alone). A first start and a start
/// again both lead to "in effect", added up in the lists' order: first starts, then starts
/// again, merged, then added to what stays there.
fn apply_ending(
    index: &Index,
    masses: &mut [f64],
    base: usize,
    own: usize,
    ever: usize,
    memo: &mut EventMemo<'_>,
) {
    let constant = memo.constant();
    let (both, mut i) = (own | ever, 0);
    while i < masses.len() {
        let (never, on, ended) = (masses[i], masses[i | both], masses[i | ever]);
        let (first, again, stop) = match constant {
            Some((start, end)) => (start, if memo.recurs() { start } else { 0.0 }, end),
            None => (
                index.probability(base + i, never, memo),
                index.probability(base + (i | ever), ended, memo),
                index.probability(base + (i | both), on, memo),
            ),
        };
        masses[i] = never * (1.0 - first);
        masses[i | both] = on * (1.0 - stop) + (never * first + ended * again);
        masses[i | ever] = ended * (1.0 - again) + on * stop;
        i = next_without(i, both);
    }
}

/// The next index after `i` with none of the bits of `mask`.
fn next_without(i: usize, mask: usize) -> usize {
    ((i | mask) + 1) & !mask
}
