//! Analyses: many solves or runs of a scenario with changed parameters ([`sensitivity`],
//! [`sweep`]), or of several scenarios over the same paths ([`compare`]).
//!
//! Each analysis is written once, over [`Report`]s, which the exact solver and Monte Carlo
//! both produce; an [`Evaluator`] decides which of the two computes them.

pub mod compare;
pub mod sensitivity;
pub mod sweep;

use crate::error::SettingError;
use crate::exact::{ExactError, Limits};
use crate::job::Interrupted;
use crate::model::Model;
use crate::report::{ExactMasses, Report};
use crate::simulate::{self, Paired, RunError, RunOptions, Tally};
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// Which method the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MethodChoice {
    /// Exact when the scenario solves exactly, else Monte Carlo.
    #[default]
    Auto,
    Exact,
    MonteCarlo,
}

/// The method an analysis used, for its summary and manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    Exact,
    MonteCarlo { paths: u64, seed: u64 },
}

impl Used {
    pub fn name(self) -> &'static str {
        match self {
            Used::Exact => "exact",
            Used::MonteCarlo { .. } => "monte-carlo",
        }
    }

    /// "exact" or "Monte Carlo, 1000000 paths per variant, seed 7 (common random numbers)".
    pub fn describe(self) -> String {
        match self {
            Used::Exact => "exact".to_string(),
            Used::MonteCarlo { paths, seed } => format!(
                "Monte Carlo, {paths} paths per variant, seed {seed} (the same paths for every \
                 variant: common random numbers)"
            ),
        }
    }
}

/// What evaluating one model gives: its exact masses, or the counts of its Monte Carlo paths
/// (paths [0, N) with the analysis's seed). Everything an analysis reports of the model is
/// derived from it, which is why a shard stores it (`export::units_file`).
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Exact(ExactMasses),
    Simulated(Tally),
}

impl Evaluated {
    /// The report of `model`, which this evaluated by `used`.
    pub fn report(&self, model: &Model, used: Used) -> Report {
        match self {
            Evaluated::Exact(masses) => Report::from_exact(model, masses),
            Evaluated::Simulated(tally) => {
                // Results are simulated only when `used` is Monte Carlo, which names the seed.
                let seed = match used {
                    Used::MonteCarlo { seed, .. } => seed,
                    Used::Exact => 0,
                };
                Report::from_tally(model, tally, seed, 0)
            }
        }
    }

    /// The probability masses: exact, or the fractions of the paths.
    pub fn into_masses(self, model: &Model) -> ExactMasses {
        match self {
            Evaluated::Exact(masses) => masses,
            Evaluated::Simulated(tally) => fractions(model, &tally),
        }
    }
}

/// Computes the reports of models of one scenario, exactly or by Monte Carlo with the same
/// seed and paths for every model.
pub struct Evaluator<'a> {
    used: Used,
    limits: Limits,
    options: RunOptions,
    pool: &'a rayon::ThreadPool,
    cancel: &'a AtomicBool,
    progress: &'a (dyn Fn(u64) + Sync),
}

/// Monte Carlo settings of an analysis.
#[derive(Debug, Clone, Copy)]
pub struct MonteCarlo {
    pub paths: u64,
    pub seed: u64,
}

impl<'a> Evaluator<'a> {
    /// Decides the method on `base`: exact when asked, or when `choice` is automatic and the
    /// base model solves within `limits` (its solution is returned then, so it is not solved
    /// twice). `progress` is told how many more paths were simulated.
    pub fn new(
        base: &Model,
        choice: MethodChoice,
        limits: Limits,
        monte_carlo: MonteCarlo,
        pool: &'a rayon::ThreadPool,
        cancel: &'a AtomicBool,
        progress: &'a (dyn Fn(u64) + Sync),
    ) -> anyhow::Result<(Evaluator<'a>, Option<Evaluated>)> {
        let options = RunOptions {
            first_path: 0,
            paths: monte_carlo.paths,
            seed: monte_carlo.seed,
            keep_records: false,
        };
        let mut evaluator = Evaluator {
            used: Used::Exact,
            limits,
            options,
            pool,
            cancel,
            progress,
        };
        let monte_carlo = Used::MonteCarlo {
            paths: monte_carlo.paths,
            seed: monte_carlo.seed,
        };
        let base_report = match choice {
            MethodChoice::MonteCarlo => {
                evaluator.used = monte_carlo;
                None
            }
            MethodChoice::Exact => Some(evaluator.solve(base)?),
            MethodChoice::Auto => match evaluator.solve(base) {
                Ok(solved) => Some(solved),
                Err(e) if e.is::<ExactError>() => {
                    eprintln!("note: {e}; using Monte Carlo instead");
                    evaluator.used = monte_carlo;
                    None
                }
                Err(e) => return Err(e),
            },
        };
        Ok((evaluator, base_report))
    }

    pub fn used(&self) -> Used {
        self.used
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn solve(&self, model: &Model) -> anyhow::Result<Evaluated> {
        // On this pool also when called outside it: the solver splits large steps over threads.
        self.pool
            .install(|| crate::job::solve(model, &self.limits, self.cancel))
            .map(Evaluated::Exact)
    }

    fn tally(&self, model: &Model) -> anyhow::Result<Tally> {
        let mut done = 0;
        simulate::run(model, &self.options, self.pool, self.cancel, |wave| {
            (self.progress)(wave.paths_done - done);
            done = wave.paths_done;
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(cancelled)
    }

    /// What each of `models` gives, in order: solved in parallel, or simulated one after
    /// another (each run uses every thread).
    pub fn evaluate(&self, models: &[Model]) -> anyhow::Result<Vec<Evaluated>> {
        match self.used {
            Used::Exact => self
                .pool
                .install(|| models.par_iter().map(|m| self.solve(m)).collect()),
            Used::MonteCarlo { .. } => models
                .iter()
                .map(|m| Ok(Evaluated::Simulated(self.tally(m)?)))
                .collect(),
        }
    }

    /// The probability masses of `models`, in order: exact, or the fractions of paths.
    pub fn masses(&self, models: &[Model]) -> anyhow::Result<Vec<ExactMasses>> {
        let evaluated = self.evaluate(models)?;
        Ok(models
            .iter()
            .zip(evaluated)
            .map(|(m, e)| e.into_masses(m))
            .collect())
    }

    /// The reports of `models`, in order.
    pub fn reports(&self, models: &[Model]) -> anyhow::Result<Vec<Report>> {
        let evaluated = self.evaluate(models)?;
        Ok(models
            .iter()
            .zip(&evaluated)
            .map(|(m, e)| e.report(m, self.used))
            .collect())
    }

    /// Simulates `models` over the same paths, with the pairs of each against the first.
    pub fn paired(&self, models: &[&Model]) -> anyhow::Result<Paired> {
        let total = models.len() as u64;
        let mut done = 0;
        simulate::run_paired(
            models,
            &self.options,
            self.pool,
            self.cancel,
            |paths_done| {
                (self.progress)((paths_done - done) * total);
                done = paths_done;
            },
        )
        .map_err(cancelled)
    }
}

/// The fractions of a tally's paths, in the layout of an exact solution.
fn fractions(model: &Model, tally: &Tally) -> ExactMasses {
    let n = tally.paths as f64;
    let share = |counts: &[u64]| counts.iter().map(|&c| c as f64 / n).collect();
    let (outcomes, events) = (model.outcomes().len(), model.events().len());
    ExactMasses {
        outcome_steps: (0..outcomes)
            .map(|o| share(tally.outcome_by_step(o)))
            .collect(),
        event_steps: (0..events).map(|e| share(tally.event_by_step(e))).collect(),
        joint: (0..outcomes)
            .map(|o| (0..events).map(|e| tally.joint(o, e) as f64 / n).collect())
            .collect(),
        // Integer counts: the difference has no rounding.
        joint_not: (0..outcomes)
            .map(|o| {
                let ended: u64 = tally.outcome_by_step(o).iter().sum();
                (0..events)
                    .map(|e| (ended - tally.joint(o, e)) as f64 / n)
                    .collect()
            })
            .collect(),
        starts: (0..tally.ending().len())
            .map(|j| share(tally.starts_by_step(j)))
            .collect(),
        ends: (0..tally.ending().len())
            .map(|j| share(tally.ends_by_step(j)))
            .collect(),
        ending: tally.ending().to_vec(),
    }
}

fn cancelled<E>(error: RunError<E>) -> anyhow::Error {
    match error {
        RunError::Cancelled => Interrupted.into(),
        RunError::Caller(_) => anyhow::anyhow!("the simulation stopped"),
    }
}

/// The most models one analysis may evaluate: a sweep grid or a list of parameters larger than
/// this is a typo, not a plan.
pub const MAX_VARIANTS: usize = 100_000;

/// Refuses an analysis of more than [`MAX_VARIANTS`] models, before any work.
fn check_variant_count(count: usize, what: &str) -> Result<(), SettingError> {
    if count > MAX_VARIANTS {
        return Err(SettingError(format!(
            "{what} asks for {count} variants; at most {MAX_VARIANTS} are allowed"
        )));
    }
    Ok(())
}
