//! Sweeps: the scenario evaluated over a list or range of values of one parameter, or over the
//! grid of two.

use super::{check_variant_count, Evaluated, Evaluator, Used};
use crate::error::SettingError;
use crate::model::Model;
use crate::parameters::{self, Parameter};
use crate::report::Report;
use std::ops::Range;

/// The most parameters one sweep varies (a grid of two).
pub const MAX_AXES: usize = 2;

/// One varied parameter and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub parameter: Parameter,
    pub values: Vec<f64>,
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Parses the values of `--vary`: a list `0.005,0.01,0.02`, a linear range `0.005..0.03:11`
/// (11 values, both ends included) or a logarithmic one `log:0.005..0.03:6`.
pub fn parse_values(text: &str) -> Result<Vec<f64>, String> {
    let text = text.trim();
    let (log, range) = match text.strip_prefix("log:") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if !range.contains("..") {
        if log {
            return Err("log: takes a range, e.g. log:0.005..0.03:6".into());
        }
        let values: Option<Vec<f64>> = text.split(',').map(number).collect();
        return match values {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err("expected numbers separated by commas, e.g. 0.005,0.01,0.02".into()),
        };
    }
    let form = "expected LOW..HIGH:COUNT, e.g. 0.005..0.03:6";
    let (bounds, count) = range.rsplit_once(':').ok_or(form)?;
    let (low, high) = bounds.split_once("..").ok_or(form)?;
    let (low, high) = (number(low).ok_or(form)?, number(high).ok_or(form)?);
    let count: usize = count.trim().parse().map_err(|_| form)?;
    if count < 2 {
        return Err(format!(
            "a range needs a count of at least 2 (both ends), not {count}"
        ));
    }
    if log && !(low > 0.0 && high > 0.0) {
        return Err("a log: range needs LOW and HIGH above 0".into());
    }
    let last = (count - 1) as f64;
    Ok((0..count)
        .map(|i| {
            let (a, b) = ((last - i as f64) / last, i as f64 / last);
            let value = if log {
                (a * low.ln() + b * high.ln()).exp()
            } else {
                a * low + b * high
            };
            round_noise(value)
        })
        .collect())
}

/// `value` to 12 significant digits: a grid point is then 0.02, not 0.019999999999999997, in
/// the tables and in the model.
fn round_noise(value: f64) -> f64 {
    format!("{value:.11e}").parse().unwrap_or(value)
}

/// Parses `--vary KEY=VALUES` against `model`, checking every value.
pub fn parse_axis(model: &Model, text: &str) -> Result<Axis, SettingError> {
    let flag = |message: String| SettingError(format!("--vary {text}: {message}"));
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| flag("expected KEY=VALUES, e.g. events.meeting.p=0.005..0.03:6".into()))?;
    let parameter = parameters::find(model, key.trim()).map_err(|e| flag(e.0))?;
    let values = parse_values(values).map_err(flag)?;
    for &value in &values {
        parameters::check_value(&parameter, value).map_err(|e| flag(e.0))?;
    }
    Ok(Axis { parameter, values })
}

/// Checks the axes of one sweep: one or two, of different parameters, not too many points.
pub fn plan(model: &Model, vary: &[String]) -> Result<Vec<Axis>, SettingError> {
    if vary.is_empty() || vary.len() > MAX_AXES {
        return Err(SettingError(format!(
            "--vary: give one or two (a grid), not {}",
            vary.len()
        )));
    }
    let axes: Vec<Axis> = vary
        .iter()
        .map(|v| parse_axis(model, v))
        .collect::<Result<_, _>>()?;
    if axes.len() == 2 && axes[0].parameter.key == axes[1].parameter.key {
        return Err(SettingError(format!(
            "--vary: {} is given twice",
            axes[0].parameter.key
        )));
    }
    let points = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    check_variant_count(points, "the sweep")?;
    Ok(axes)
}

/// One point of the grid: a value per axis, and the report there.
pub struct Point {
    pub values: Vec<f64>,
    pub report: Report,
}

pub struct Sweep {
    pub axes: Vec<Axis>,
    /// In grid order: the last axis varies fastest.
    pub points: Vec<Point>,
    pub used: Used,
}

/// The number of points of the grid of `axes`.
pub fn points(axes: &[Axis]) -> usize {
    axes.iter().map(|a| a.values.len()).product()
}

/// Point `index` of the grid: a value per axis, the last axis varying fastest.
fn point(axes: &[Axis], index: usize) -> Vec<f64> {
    let mut rest = index;
    let mut values: Vec<f64> = axes
        .iter()
        .rev()
        .map(|axis| {
            let value = axis.values[rest % axis.values.len()];
            rest /= axis.values.len();
            value
        })
        .collect();
    values.reverse();
    values
}

/// Every combination of the axes' values, the last axis fastest: the grid's points in order,
/// each one unit of a sharded sweep.
pub fn grid(axes: &[Axis]) -> Vec<Vec<f64>> {
    (0..points(axes)).map(|i| point(axes, i)).collect()
}

/// The model at point `index` of the grid.
pub fn point_model(model: &Model, axes: &[Axis], index: usize) -> anyhow::Result<Model> {
    Ok(models(model, axes, &[point(axes, index)])?.remove(0))
}

/// The model at each of `points`.
fn models(model: &Model, axes: &[Axis], points: &[Vec<f64>]) -> anyhow::Result<Vec<Model>> {
    let models = points
        .iter()
        .map(|values| {
            let set: Vec<(&Parameter, f64)> = axes
                .iter()
                .map(|a| &a.parameter)
                .zip(values.iter().copied())
                .collect();
            model.with_parameters(&set)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(models)
}

/// Evaluates the grid points `range` (indices in grid order).
pub fn evaluate(
    model: &Model,
    axes: &[Axis],
    range: Range<usize>,
    evaluator: &Evaluator<'_>,
) -> anyhow::Result<Vec<Evaluated>> {
    let points: Vec<Vec<f64>> = range.map(|i| point(axes, i)).collect();
    evaluator.evaluate(&models(model, axes, &points)?)
}

/// The sweep, from every grid point evaluated (in grid order) by `used`.
pub fn assemble(
    model: &Model,
    axes: Vec<Axis>,
    evaluated: &[Evaluated],
    used: Used,
) -> anyhow::Result<Sweep> {
    let points = grid(&axes);
    let models = models(model, &axes, &points)?;
    Ok(Sweep {
        points: points
            .into_iter()
            .zip(models.iter().zip(evaluated))
            .map(|(values, (m, e))| Point {
                values,
                report: e.report(m, used),
            })
            .collect(),
        axes,
        used,
    })
}

pub fn run(model: &Model, axes: Vec<Axis>, evaluator: &Evaluator<'_>) -> anyhow::Result<Sweep> {
    let evaluated = evaluate(model, &axes, 0..points(&axes), evaluator)?;
    assemble(model, axes, &evaluated, evaluator.used())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_values("0.1, 0.2,0.3").unwrap(), vec![0.1, 0.2, 0.3]);
        let linear = parse_values("0.005..0.03:6").unwrap();
        assert_eq!(linear.len(), 6);
        assert_eq!((linear[0], linear[5]), (0.005, 0.03));
        assert!((linear[1] - 0.01).abs() < 1e-15);
        let log = parse_values("log:0.001..0.1:3").unwrap();
        assert!((log[1] - 0.01).abs() < 1e-15, "{log:?}");
        for bad in [
            "",
            "0.1,,0.2",
            "0.1..0.2",
            "0.1..0.2:1",
            "0.1..0.2:0",
            "log:0..1:3",
            "a",
        ] {
            assert!(parse_values(bad).is_err(), "{bad}");
        }
    }
}
