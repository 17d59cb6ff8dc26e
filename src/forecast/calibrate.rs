//! Fitting parameters to targets: Levenberg-Marquardt on log-odds, through the exact solver.
//!
//! Each parameter is moved on an unbounded scale, a probability as its log-odds and a factor
//! as its logarithm, so every step gives a valid model. Each target contributes one residual:
//! how far the model's answer lies outside the target's range, in log-odds (0 inside it). The
//! range is shrunk by a small margin (`MARGIN`, at most a quarter of its width) so that a fit
//! that reaches it lands inside and not on the edge. Log-odds make a miss of 1% against 2% count
//! as much as 33% against 50%, which is how forecasts differ; Levenberg-Marquardt is
//! Gauss-Newton with a damping that falls back to gradient steps far from the solution. The
//! Jacobian is taken by central differences through the exact solver, which has no sampling
//! noise, so differences of 1e-4 on the log-odds scale are accurate to about 1e-8.

use super::answer::exact_answers;
use super::targets::Target;
use super::Question;
use crate::error::SettingError;
use crate::exact::Limits;
use crate::export::csv::{number, to_bytes};
use crate::model::Model;
use crate::parameters::{self, Kind, Parameter};

/// The fitted range is the target's range shrunk by this much on the log-odds scale at each
/// end (or a quarter of its width, if less).
const MARGIN: f64 = 0.02;
/// Answers are kept this far from 0 and 1 before taking log-odds.
const CLAMP: f64 = 1e-12;
/// Step of the central differences, on the log-odds (or log) scale.
const DIFFERENCE: f64 = 1e-4;
const MAX_ITERATIONS: usize = 100;
/// The largest change of one parameter in one step, on its scale: a trust region that keeps
/// an early step from flinging a parameter to 0 or 1.
const MAX_STEP: f64 = 3.0;
/// A column of the Jacobian shorter than this (relative) after removing what the other
/// columns explain cannot be identified from the targets.
const RANK_TOLERANCE: f64 = 1e-6;

fn logit(p: f64) -> f64 {
    let p = p.clamp(CLAMP, 1.0 - CLAMP);
    (p / (1.0 - p)).ln()
}

fn to_scale(kind: Kind, value: f64) -> f64 {
    match kind {
        Kind::Probability => logit(value),
        Kind::Factor | Kind::HalfLife => value.ln(),
    }
}

fn from_scale(kind: Kind, x: f64) -> f64 {
    match kind {
        Kind::Probability => 1.0 / (1.0 + (-x).exp()),
        Kind::Factor | Kind::HalfLife => x.exp(),
    }
}

/// The parameters named by `keys`, checked: known, distinct, movable, and no more of them than
/// there are targets.
pub fn plan(
    model: &Model,
    keys: &[String],
    targets: &[Target],
) -> Result<Vec<Parameter>, SettingError> {
    if targets.is_empty() {
        return Err(SettingError(format!(
            "scenario '{}' declares no [[targets]] to fit (docs/forecasting.md shows how)",
            model.id()
        )));
    }
    let mut chosen: Vec<Parameter> = Vec::new();
    for key in keys.iter().map(|k| k.trim()) {
        let parameter =
            parameters::find(model, key).map_err(|e| SettingError(format!("--fit: {e}")))?;
        if chosen.iter().any(|p| p.key == parameter.key) {
            return Err(SettingError(format!("--fit: {key} is named twice")));
        }
        if parameter.is_pinned() {
            return Err(SettingError(format!(
                "--fit: {key} = {} is impossible or certain, and odds cannot move it; set it \
                 to a value inside (0, 1) first",
                parameter.value
            )));
        }
        chosen.push(parameter);
    }
    if chosen.is_empty() {
        return Err(SettingError("--fit: name at least one parameter".into()));
    }
    if chosen.len() > targets.len() {
        return Err(SettingError(format!(
            "--fit names {} parameters but the scenario has {} targets: at most as many \
             parameters as targets can be identified",
            chosen.len(),
            targets.len()
        )));
    }
    Ok(chosen)
}

/// The result of a fit.
#[derive(Debug, Clone)]
pub struct Fit {
    pub parameters: Vec<(Parameter, f64)>,
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    pub iterations: usize,
    pub model: Model,
}

struct Problem<'a> {
    model: &'a Model,
    parameters: &'a [Parameter],
    questions: Vec<Question>,
    /// The target ranges on the log-odds scale, shrunk by the margin.
    bands: Vec<(f64, f64)>,
    limits: &'a Limits,
}

impl Problem<'_> {
    fn model_at(&self, x: &[f64]) -> anyhow::Result<Model> {
        let values: Vec<(&Parameter, f64)> = self
            .parameters
            .iter()
            .zip(x)
            .map(|(p, &x)| (p, from_scale(p.kind, x)))
            .collect();
        Ok(self.model.with_parameters(&values)?)
    }

    /// The answers at `x`.
    fn answers(&self, x: &[f64]) -> anyhow::Result<Vec<f64>> {
        let model = self.model_at(x)?;
        let answers = exact_answers(&model, &self.questions, self.limits)?;
        Ok(answers.iter().map(|a| a.probability).collect())
    }

    /// Log-odds of the answers, and the residuals: the distance outside each band.
    fn residuals(&self, answers: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let logits: Vec<f64> = answers.iter().map(|&a| logit(a)).collect();
        let residuals = logits
            .iter()
            .zip(&self.bands)
            .map(|(&l, &(low, high))| l - l.clamp(low, high))
            .collect();
        (logits, residuals)
    }

    /// d logit(answer_i) / d x_j, by central differences: one column per parameter.
    fn jacobian(&self, x: &[f64]) -> anyhow::Result<Vec<Vec<f64>>> {
        (0..x.len())
            .map(|j| {
                let mut up = x.to_vec();
                let mut down = x.to_vec();
                up[j] += DIFFERENCE;
                down[j] -= DIFFERENCE;
                let (hi, _) = self.residuals(&self.answers(&up)?);
                let (lo, _) = self.residuals(&self.answers(&down)?);
                Ok(hi
                    .iter()
                    .zip(&lo)
                    .map(|(a, b)| (a - b) / (2.0 * DIFFERENCE))
                    .collect())
            })
            .collect()
    }
}

fn cost(residuals: &[f64]) -> f64 {
    residuals.iter().map(|r| r * r).sum::<f64>() / 2.0
}

/// Refuses parameters the targets cannot identify: a column of the Jacobian that is zero (the
/// parameter moves no target) or a combination of the columns before it.
fn check_identifiable(parameters: &[Parameter], columns: &[Vec<f64>]) -> Result<(), SettingError> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for (parameter, column) in parameters.iter().zip(columns) {
        let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < RANK_TOLERANCE {
            return Err(SettingError(format!(
                "--fit: {} moves none of the targets, so they cannot identify it",
                parameter.key
            )));
        }
        let mut rest = column.clone();
        for b in &basis {
            let along: f64 = rest.iter().zip(b).map(|(r, b)| r * b).sum();
            rest.iter_mut().zip(b).for_each(|(r, b)| *r -= along * b);
        }
        let left = rest.iter().map(|v| v * v).sum::<f64>().sqrt();
        if left < RANK_TOLERANCE * norm {
            return Err(SettingError(format!(
                "--fit: {} moves the targets only as the parameters before it do, so the targets \
                 cannot tell them apart; fit fewer parameters or add targets",
                parameter.key
            )));
        }
        basis.push(rest.iter().map(|v| v / left).collect());
    }
    Ok(())
}

/// Solves the k x k system `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Fits `parameters` of `model` to `targets`.
pub fn fit(
    model: &Model,
    parameters: &[Parameter],
    targets: &[Target],
    limits: &Limits,
) -> anyhow::Result<Fit> {
    let bands = targets
        .iter()
        .map(|t| {
            let (low, high) = (logit(t.low), logit(t.high));
            let margin = MARGIN.min((high - low) / 4.0);
            (low + margin, high - margin)
        })
        .collect();
    let problem = Problem {
        model,
        parameters,
        questions: targets.iter().map(|t| t.question.clone()).collect(),
        bands,
        limits,
    };
    let mut x: Vec<f64> = parameters
        .iter()
        .map(|p| to_scale(p.kind, p.value))
        .collect();
    let before = problem.answers(&x)?;
    check_identifiable(parameters, &problem.jacobian(&x)?)?;
    let (_, mut residuals) = problem.residuals(&before);
    let mut answers = before.clone();
    let mut damping = 1e-3;
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS && cost(&residuals) > 0.0 {
        iterations += 1;
        let columns = problem.jacobian(&x)?;
        // Only targets outside their band pull; inside it the residual is flat.
        let active = |i: usize| residuals[i] != 0.0;
        let k = x.len();
        let mut normal = vec![vec![0.0; k]; k];
        let mut gradient = vec![0.0; k];
        for i in (0..residuals.len()).filter(|&i| active(i)) {
            for a in 0..k {
                gradient[a] += columns[a][i] * residuals[i];
                for b in 0..k {
                    normal[a][b] += columns[a][i] * columns[b][i];
                }
            }
        }
        let mut improved = false;
        while damping < 1e12 {
            let mut damped = normal.clone();
            for (a, row) in damped.iter_mut().enumerate() {
                row[a] += damping * (normal[a][a] + 1e-9);
            }
            let Some(mut step) = solve(damped, gradient.iter().map(|g| -g).collect()) else {
                damping *= 10.0;
                continue;
            };
            let longest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            if longest > MAX_STEP {
                step.iter_mut().for_each(|s| *s *= MAX_STEP / longest);
            }
            let trial: Vec<f64> = x.iter().zip(&step).map(|(x, s)| x + s).collect();
            let trial_answers = problem.answers(&trial)?;
            let (_, trial_residuals) = problem.residuals(&trial_answers);
            if cost(&trial_residuals) < cost(&residuals) {
                let gain = cost(&residuals) - cost(&trial_residuals);
                improved = gain > 1e-14 * cost(&residuals).max(1e-300) && longest > 1e-10;
                x = trial;
                answers = trial_answers;
                residuals = trial_residuals;
                damping = (damping / 3.0).max(1e-12);
                break;
            }
            damping *= 4.0;
        }
        if !improved {
            break;
        }
    }
    let fitted = problem.model_at(&x)?;
    Ok(Fit {
        parameters: parameters
            .iter()
            .zip(&x)
            .map(|(p, &x)| (p.clone(), from_scale(p.kind, x)))
            .collect(),
        before,
        after: answers,
        iterations,
        model: fitted,
    })
}

/// The text of a scenario file that extends the original (`extends`, as it should be written
/// in the file) with the fitted values, a comment on each.
pub fn scenario_file(
    model: &Model,
    extends: &str,
    fit: &Fit,
    targets: &[Target],
    command: &str,
) -> String {
    let mut text = format!(
        "# Calibrated by pathcast {}: {command}\n# Fitted by least squares on log-odds to the \
         {} targets of '{}' (targets.csv beside this file has\n# each target before and after). \
         Everything else is as in the scenario it extends.\n",
        env!("CARGO_PKG_VERSION"),
        targets.len(),
        model.id()
    );
    let unmet: Vec<String> = targets
        .iter()
        .zip(&fit.after)
        .filter(|(t, &v)| !t.is_met(v))
        .map(|(t, v)| format!("#   {}: {} against {}", t.describe(), number(*v), t.written))
        .collect();
    if !unmet.is_empty() {
        text.push_str("# Targets this fit could not meet:\n");
        text.push_str(&unmet.join("\n"));
        text.push('\n');
    }
    text.push_str(&format!(
        "extends = {}\n",
        toml::Value::String(extends.into())
    ));
    text.push_str(&format!(
        "scenario.id = {}\nscenario.title = {}\n",
        toml::Value::String(format!("{}_calibrated", model.id())),
        toml::Value::String(format!("{} (calibrated)", model.title()))
    ));
    for (parameter, value) in &fit.parameters {
        text.push_str(&format!(
            "\n# fitted: was {}\n{} = {}\n",
            parameter.value,
            parameter.key,
            toml::Value::Float(*value)
        ));
    }
    text
}

/// `fitted.csv`: one row per fitted parameter.
pub fn fitted_table(fit: &Fit) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![["parameter", "kind", "before", "after"]
        .map(String::from)
        .to_vec()];
    for (parameter, value) in &fit.parameters {
        rows.push(vec![
            parameter.key.clone(),
            parameter.kind.to_string(),
            number(parameter.value),
            number(*value),
        ]);
    }
    to_bytes(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linear_solver_solves() {
        let a = vec![vec![2.0, 1.0], vec![1.0, 3.0]];
        let x = solve(a, vec![3.0, 5.0]).unwrap();
        assert!(
            (x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve(vec![vec![0.0]], vec![1.0]).is_none());
    }

    #[test]
    fn scales_round_trip() {
        for (kind, v) in [(Kind::Probability, 0.013), (Kind::Factor, 2.5)] {
            let back = from_scale(kind, to_scale(kind, v));
            assert!((back - v).abs() < 1e-15, "{kind}: {back}");
        }
    }
}
