//! Several models run over the same paths: each model's tally, and, for every model after the
//! first, how each path went in it against the first. Those pairs are what a paired difference
//! of two probabilities, and its interval, are computed from.

use super::kernel::{Kernel, PathRecord};
use super::Tally;
use crate::model::Model;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether an item is an outcome (the path ended in it) or an event (it happened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Outcome,
    Event,
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Outcome => "outcome",
            ItemKind::Event => "event",
        }
    }
}

/// An outcome or event that two models share by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedItem {
    pub kind: ItemKind,
    pub id: String,
    /// Its index in the reference model, and in the variant.
    pub reference: usize,
    pub variant: usize,
}

impl SharedItem {
    fn holds(&self, index: usize, record: &PathRecord) -> bool {
        match self.kind {
            ItemKind::Outcome => record.outcome == index,
            ItemKind::Event => record.ever >> index & 1 == 1,
        }
    }
}

/// The outcomes, then the events, of `reference` that `variant` has too, in the reference's
/// order.
pub fn shared_items(reference: &Model, variant: &Model) -> Vec<SharedItem> {
    let outcomes = reference
        .outcomes()
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let j = variant.outcomes().iter().position(|x| x.id == o.id)?;
            Some((ItemKind::Outcome, o.id.clone(), i, j))
        });
    let events = reference.events().iter().enumerate().filter_map(|(i, e)| {
        let j = variant.events().iter().position(|x| x.id == e.id)?;
        Some((ItemKind::Event, e.id.clone(), i, j))
    });
    outcomes
        .chain(events)
        .map(|(kind, id, reference, variant)| SharedItem {
            kind,
            id,
            reference,
            variant,
        })
        .collect()
}

/// For each shared item, the paths on which it held in both runs, in the reference only, and
/// in the variant only (the rest: in neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCounts {
    pub items: Vec<SharedItem>,
    pub both: Vec<u64>,
    pub reference_only: Vec<u64>,
    pub variant_only: Vec<u64>,
}

impl PairCounts {
    fn new(items: Vec<SharedItem>) -> PairCounts {
        let n = items.len();
        PairCounts {
            items,
            both: vec![0; n],
            reference_only: vec![0; n],
            variant_only: vec![0; n],
        }
    }

    fn add(&mut self, reference: &PathRecord, variant: &PathRecord) {
        for (i, item) in self.items.iter().enumerate() {
            match (
                item.holds(item.reference, reference),
                item.holds(item.variant, variant),
            ) {
                (true, true) => self.both[i] += 1,
                (true, false) => self.reference_only[i] += 1,
                (false, true) => self.variant_only[i] += 1,
                (false, false) => {}
            }
        }
    }

    fn merge(&mut self, other: &PairCounts) {
        for (a, b) in [
            (&mut self.both, &other.both),
            (&mut self.reference_only, &other.reference_only),
            (&mut self.variant_only, &other.variant_only),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }
}

/// The tallies of several models over the same paths, and the pairs of each against the
/// first. Integer counts, so merging order cannot change a digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired {
    pub tallies: Vec<Tally>,
    /// `pairs[v - 1]`: model v against model 0.
    pub pairs: Vec<PairCounts>,
}

impl Paired {
    pub fn new(models: &[&Model]) -> Paired {
        Paired {
            tallies: models.iter().map(|m| Tally::new(m)).collect(),
            pairs: models
                .iter()
                .skip(1)
                .map(|m| PairCounts::new(shared_items(models[0], m)))
                .collect(),
        }
    }

    /// Simulates paths `[first, end)` with one kernel per model.
    pub(crate) fn simulate(
        &mut self,
        kernels: &mut [Kernel<'_>],
        first: u64,
        end: u64,
        cancel: &AtomicBool,
    ) {
        let mut records: Vec<PathRecord> = kernels.iter().map(Kernel::new_record).collect();
        for path in first..end {
            if path % 1024 == 0 && cancel.load(Ordering::Relaxed) {
                break;
            }
            for ((kernel, record), tally) in
                kernels.iter_mut().zip(&mut records).zip(&mut self.tallies)
            {
                kernel.run_path(path, record);
                tally.add(record);
            }
            for (pairs, record) in self.pairs.iter_mut().zip(&records[1..]) {
                pairs.add(&records[0], record);
            }
        }
    }

    pub fn merge(&mut self, other: &Paired) {
        for (a, b) in self.tallies.iter_mut().zip(&other.tallies) {
            a.merge(b);
        }
        for (a, b) in self.pairs.iter_mut().zip(&other.pairs) {
            a.merge(b);
        }
    }
}
