//! Uncertain inputs: a `p` or `factor` given as a distribution instead of a number.
//!
//! A scenario with uncertain inputs compiles to a model holding each input's median, plus the
//! list of inputs and their distributions ([`crate::Model::uncertain`]). [`run`] does the
//! two-level computation: K draws of the inputs and, for each, the model's outcome and event
//! probabilities (exact, or from Monte Carlo paths, as the [`Evaluator`] decides), summarised
//! as the spread across draws and as Sobol indices ([`sobol`]).
//!
//! The design is Saltelli's: sample i draws two independent points A_i and B_i of all inputs
//! from its own random stream (seed, i), and the model is evaluated at A_i, at B_i, and at
//! A_i with input j taken from B_i, for each input j: K (d + 2) evaluations for d inputs. The
//! K points A_i are the samples that `samples.csv` lists and that the means and percentiles
//! summarise. Samples are evaluated in chunks (in parallel when exact) and folded in sample
//! order, so every number is the same for any thread count.

mod distribution;
pub mod sobol;

pub use distribution::{uniform, Distribution, Shape, Uncertain, U_MAX, U_MIN};

use crate::analysis::Evaluator;
use crate::model::Model;
use crate::parameters::{self, Parameter};
use crate::report::ExactMasses;
use crate::simulate::paired::ItemKind;
use rand::RngCore;
use sobol::{Indices, Sobol};

/// Draws of the inputs when neither `--samples` nor the scenario's `samples` says.
pub const DEFAULT_SAMPLES: u64 = 1000;
/// The most draws a run takes (`--samples` or the scenario's `samples`).
pub const MAX_SAMPLES: u64 = 100_000_000;
/// Monte Carlo paths per sample when `--paths` is not given (and the scenario asks for more):
/// the design evaluates the model K (d + 2) times, so a scenario's own `paths` (often a
/// million) would take hours.
pub const DEFAULT_PATHS_PER_SAMPLE: u64 = 10_000;
/// Monte Carlo paths per sample: `requested` (`--paths`), else the scenario's own, at most
/// [`DEFAULT_PATHS_PER_SAMPLE`].
pub fn paths_per_sample(model: &Model, requested: Option<u64>) -> u64 {
    requested.unwrap_or(model.paths().min(DEFAULT_PATHS_PER_SAMPLE))
}

/// Samples evaluated together: enough to keep every thread busy, few enough that memory stays
/// flat.
const CHUNK: u64 = 64;

/// The random streams of the uncertainty analysis, separate from the paths' streams.
pub(crate) mod stream {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use sha2::{Digest, Sha256};

    /// The stream of sample i's input draws.
    pub const INPUTS: &str = "pathcast uncertain inputs";
    /// The stream of sample i's bootstrap weights.
    pub const BOOTSTRAP: &str = "pathcast sobol bootstrap";

    /// ChaCha8 keyed by SHA-256(domain, seed), on stream `index`: a domain never shares a key
    /// with another domain or with the paths (keyed by the seed itself).
    pub fn rng(domain: &str, seed: u64, index: u64) -> ChaCha8Rng {
        let mut hasher = Sha256::new();
        hasher.update(domain.as_bytes());
        hasher.update(seed.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(hasher.finalize().into());
        rng.set_stream(index);
        rng
    }
}

/// The `q` quantile of sorted `values`, interpolated between order statistics (type 7, the
/// default of R and NumPy); NaN when there are none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let low = h.floor() as usize;
    let high = (low + 1).min(sorted.len() - 1);
    sorted[low] + (h - low as f64) * (sorted[high] - sorted[low])
}

/// Samples whose values are kept for exact percentiles; beyond this many, the percentiles come
/// from a histogram of [`BINS`] bins over [0, 1], so that memory stays flat as the number of
/// samples grows (the percentiles are then exact to within 1/BINS, about 1.5e-5).
const EXACT_SAMPLES: usize = 1 << 16;
const BINS: usize = 1 << 16;

/// The probabilities of one outcome or event across the samples: running mean and sum of
/// squared deviations (Welford), and the values, or once there are many, their histogram.
#[derive(Debug, Default)]
struct Column {
    count: u64,
    mean: f64,
    squares: f64,
    values: Vec<f64>,
    bins: Vec<u64>,
}

impl Column {
    fn add(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.squares += delta * (x - self.mean);
        if self.bins.is_empty() {
            self.values.push(x);
            if self.values.len() > EXACT_SAMPLES {
                self.bins = vec![0; BINS];
                for v in std::mem::take(&mut self.values) {
                    self.bins[bin(v)] += 1;
                }
            }
        } else {
            self.bins[bin(x)] += 1;
        }
    }

    fn finish(&mut self) {
        self.values.sort_by(f64::total_cmp);
    }

    /// The `q` quantile: of the sorted values, or interpolated inside the histogram's bin that
    /// holds the same rank.
    fn quantile(&self, q: f64) -> f64 {
        if self.bins.is_empty() {
            return quantile(&self.values, q);
        }
        let rank = (self.count - 1) as f64 * q;
        let mut below = 0u64;
        for (i, &n) in self.bins.iter().enumerate() {
            if n > 0 && (below + n) as f64 > rank {
                let within = (rank - below as f64 + 0.5) / n as f64;
                return (i as f64 + within.clamp(0.0, 1.0)) / BINS as f64;
            }
            below += n;
        }
        1.0
    }
}

fn bin(x: f64) -> usize {
    ((x.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1)
}

/// What sample `index` gives: its inputs at the point A, the model's masses there (what the
/// averaged tables, the spread and `samples.csv` come from), and each outcome's probability at
/// the point B and at A with each input j taken from B (what the Sobol indices also need).
/// One unit of a sharded run: everything the samples add up to is folded from these, in
/// sample order, so a merge of shards folds the same numbers in the same order as one run.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleResult {
    pub index: u64,
    /// One value per uncertain input, in the model's order.
    pub values: Vec<f64>,
    pub masses: ExactMasses,
    /// Per outcome, its probability at B.
    pub b: Vec<f64>,
    /// Per input j, per outcome, its probability at A with input j from B.
    pub ab: Vec<Vec<f64>>,
}

impl SampleResult {
    /// Each outcome's probability at A.
    pub fn outcomes(&self) -> Vec<f64> {
        outcome_totals(&self.masses)
    }
}

/// How an outcome's or event's probability spreads across the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub kind: ItemKind,
    pub id: String,
    pub label: String,
    pub mean: f64,
    pub sd: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

/// The Sobol indices of one input on one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub input: String,
    pub outcome: String,
    pub indices: Indices,
}

/// What the samples add up to.
pub struct Analysis {
    pub samples: u64,
    pub inputs: Vec<Uncertain>,
    /// Probability masses averaged over the samples: the usual tables are written from them.
    pub masses: ExactMasses,
    /// Outcomes, then events.
    pub spread: Vec<Spread>,
    /// Per input, then per outcome.
    pub sobol: Vec<Attribution>,
}

/// The inputs of sample `index`: the point A (first d numbers) and the point B (next d).
fn draw(inputs: &[Uncertain], seed: u64, index: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = stream::rng(stream::INPUTS, seed, index);
    let mut point = || -> Vec<f64> {
        inputs
            .iter()
            .map(|input| input.distribution.quantile(uniform(rng.next_u64())))
            .collect()
    };
    let a = point();
    let b = point();
    (a, b)
}

/// The inputs of sample `index` of `model` drawn from `seed`: the point A, as `samples.csv`
/// lists it.
pub fn point_a(model: &Model, seed: u64, index: u64) -> Vec<f64> {
    draw(model.uncertain(), seed, index).0
}

fn outcome_totals(masses: &ExactMasses) -> Vec<f64> {
    masses
        .outcome_steps
        .iter()
        .map(|s| s.iter().sum())
        .collect()
}

fn event_totals(masses: &ExactMasses) -> Vec<f64> {
    masses.event_steps.iter().map(|s| s.iter().sum()).collect()
}

/// Evaluates the samples `range` of `model`'s uncertain inputs drawn from `seed`, with
/// `evaluator`; `on_sample` is given each in index order. Sample i is the same whatever the
/// range, the chunks or the threads: its draws come from its own stream.
pub fn evaluate(
    model: &Model,
    range: std::ops::Range<u64>,
    seed: u64,
    evaluator: &Evaluator<'_>,
    mut on_sample: impl FnMut(SampleResult) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let inputs = model.uncertain();
    let keyed: Vec<Parameter> = inputs
        .iter()
        .map(|input| parameters::find(model, &input.key))
        .collect::<Result<_, _>>()?;
    let at = |values: &[f64]| -> anyhow::Result<Model> {
        let set: Vec<(&Parameter, f64)> = keyed.iter().zip(values.iter().copied()).collect();
        Ok(model.with_parameters(&set)?)
    };
    let d = inputs.len();
    let mut first = range.start;
    while first < range.end {
        let end = (first + CHUNK).min(range.end);
        let mut points = Vec::new();
        let mut models = Vec::new();
        for index in first..end {
            let (a, b) = draw(inputs, seed, index);
            models.push(at(&a)?);
            models.push(at(&b)?);
            for j in 0..d {
                let mut mixed = a.clone();
                mixed[j] = b[j];
                models.push(at(&mixed)?);
            }
            points.push(a);
        }
        let masses = evaluator.masses(&models)?;
        for (i, (a, group)) in points.into_iter().zip(masses.chunks(d + 2)).enumerate() {
            on_sample(SampleResult {
                index: first + i as u64,
                values: a,
                b: outcome_totals(&group[1]),
                ab: group[2..].iter().map(outcome_totals).collect(),
                masses: group[0].clone(),
            })?;
        }
        first = end;
    }
    Ok(())
}

/// What the samples add up to so far: the Sobol sums, the sum of the masses, and each
/// outcome's and event's column of probabilities. Samples must be added in index order from
/// sample 0, as one run computes them: floating-point sums depend on their order.
pub struct Fold {
    samples: u64,
    sobol: Sobol,
    sum: Option<ExactMasses>,
    /// One column per outcome, then per event: what the mean, sd and percentiles come from.
    columns: Vec<Column>,
}

impl Fold {
    pub fn new(model: &Model, seed: u64) -> Fold {
        let outcomes = model.outcomes().len();
        Fold {
            samples: 0,
            sobol: Sobol::new(model.uncertain().len(), outcomes, seed),
            sum: None,
            columns: (0..outcomes + model.events().len())
                .map(|_| Column::default())
                .collect(),
        }
    }

    pub fn add(&mut self, sample: &SampleResult) {
        let f_a = sample.outcomes();
        self.sobol.add(sample.index, &f_a, &sample.b, &sample.ab);
        for (column, value) in self
            .columns
            .iter_mut()
            .zip(f_a.iter().chain(&event_totals(&sample.masses)))
        {
            column.add(*value);
        }
        match &mut self.sum {
            Some(sum) => sum.add(&sample.masses),
            None => self.sum = Some(sample.masses.clone()),
        }
        self.samples += 1;
    }

    /// The analysis of the samples added.
    pub fn finish(self, model: &Model) -> anyhow::Result<Analysis> {
        let samples = self.samples;
        let mut masses = self.sum.ok_or_else(|| anyhow::anyhow!("no samples"))?;
        masses.scale(1.0 / samples as f64);
        let items = model
            .outcomes()
            .iter()
            .map(|o| (ItemKind::Outcome, &o.id, &o.label))
            .chain(
                model
                    .events()
                    .iter()
                    .map(|e| (ItemKind::Event, &e.id, &e.label)),
            );
        let spread = items
            .zip(self.columns)
            .map(|((kind, id, label), mut column)| {
                column.finish();
                Spread {
                    kind,
                    id: id.clone(),
                    label: label.clone(),
                    mean: column.mean,
                    sd: (column.squares / (column.count as f64 - 1.0)).sqrt(),
                    p5: column.quantile(0.05),
                    p50: column.quantile(0.5),
                    p95: column.quantile(0.95),
                }
            })
            .collect();
        let inputs = model.uncertain().to_vec();
        let mut attributions = Vec::new();
        for (j, input) in inputs.iter().enumerate() {
            for (o, outcome) in model.outcomes().iter().enumerate() {
                attributions.push(Attribution {
                    input: input.key.clone(),
                    outcome: outcome.id.clone(),
                    indices: self.sobol.indices(o, j),
                });
            }
        }
        Ok(Analysis {
            samples,
            inputs,
            masses,
            spread,
            sobol: attributions,
        })
    }
}

/// Runs `samples` draws of `model`'s uncertain inputs from `seed`, evaluating each with
/// `evaluator`; `on_sample` is told each sample in order (to stream `samples.csv`).
pub fn run(
    model: &Model,
    samples: u64,
    seed: u64,
    evaluator: &Evaluator<'_>,
    mut on_sample: impl FnMut(&SampleResult) -> anyhow::Result<()>,
) -> anyhow::Result<Analysis> {
    let mut fold = Fold::new(model, seed);
    evaluate(model, 0..samples, seed, evaluator, |sample| {
        on_sample(&sample)?;
        fold.add(&sample);
        Ok(())
    })?;
    fold.finish(model)
}

#[cfg(test)]
mod tests {
    use super::{quantile, Column, BINS};

    /// Past the exact limit the percentiles come from the histogram: memory stays at its
    /// bins, and each percentile is within one bin of the exact one.
    #[test]
    fn many_samples_keep_flat_memory_and_close_percentiles() {
        let mut column = Column::default();
        let mut values = Vec::new();
        let mut x = 0.3f64;
        for _ in 0..200_000 {
            x = (x * 3.7 + 0.123).fract();
            let v = x * x;
            column.add(v);
            values.push(v);
        }
        column.finish();
        assert!(column.values.is_empty() && column.bins.len() == BINS);
        values.sort_by(f64::total_cmp);
        for q in [0.05, 0.5, 0.95] {
            let exact = quantile(&values, q);
            let got = column.quantile(q);
            assert!(
                (got - exact).abs() <= 1.0 / BINS as f64,
                "{q}: {got} {exact}"
            );
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((column.mean - mean).abs() < 1e-12);
    }
}
