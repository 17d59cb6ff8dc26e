//! Parameters: every probability and odds factor of a model, named by the dotted key that
//! `--set` takes (`events.meeting.p`, `events.ceasefire.ends.p`,
//! `outcomes.ceasefire.modifiers.meeting.factor`).
//!
//! Analyses change a model one number at a time through this seam: [`list`] names them,
//! [`find`] looks one up, and [`Model::with_parameters`] builds a new model from new values
//! through the same constructor as a scenario file, so simulation, exact solution and export
//! all see the change.

use crate::error::SettingError;
use crate::model::{Hazard, Model};
use crate::rate::Rate;
use std::fmt;

/// What a parameter is, which fixes its valid range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A base probability per step, in [0, 1].
    Probability,
    /// An odds multiplier, finite and > 0.
    Factor,
    /// The half-life of a decay, in steps: finite and > 0.
    HalfLife,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Probability => "probability",
            Kind::Factor => "factor",
            Kind::HalfLife => "half-life",
        }
    }

    /// The valid range, as text.
    pub fn range(self) -> &'static str {
        match self {
            Kind::Probability => "[0, 1]",
            Kind::Factor | Kind::HalfLife => "(0, inf)",
        }
    }

    pub fn accepts(self, value: f64) -> bool {
        match self {
            Kind::Probability => (0.0..=1.0).contains(&value),
            Kind::Factor | Kind::HalfLife => value > 0.0 && value.is_finite(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a parameter sits in a model: the number `number` (see [`Rate::numbers`]) of the base
/// probability or of the factor of a modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The base probability.
    P { number: usize },
    /// The factor of the modifier with this index.
    Factor { modifier: usize, number: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Event(usize),
    /// The end of an event that can end.
    EventEnd(usize),
    Outcome(usize),
}

/// One number of a model that can be changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The dotted key, as `--set` takes it.
    pub key: String,
    /// Its value in the model it was listed from.
    pub value: f64,
    pub kind: Kind,
    owner: Owner,
    slot: Slot,
}

impl Parameter {
    /// A probability of exactly 0 or 1: odds multipliers cannot move it (the format keeps
    /// impossible and certain events so), so a default sensitivity range leaves it alone.
    pub fn is_pinned(&self) -> bool {
        self.kind == Kind::Probability && (self.value == 0.0 || self.value == 1.0)
    }
}

fn hazard_parameters(prefix: &str, owner: Owner, hazard: &Hazard, list: &mut Vec<Parameter>) {
    let mut push = |key: String, rate: &Rate, kind: Kind, slot: &dyn Fn(usize) -> Slot| {
        for (number, (suffix, value, half_life)) in rate.numbers().into_iter().enumerate() {
            list.push(Parameter {
                key: format!("{key}{suffix}"),
                value,
                kind: if half_life { Kind::HalfLife } else { kind },
                owner,
                slot: slot(number),
            });
        }
    };
    push(
        format!("{prefix}.p"),
        hazard.p(),
        Kind::Probability,
        &|number| Slot::P { number },
    );
    for (modifier, m) in hazard.modifiers().iter().enumerate() {
        push(
            format!("{prefix}.modifiers.{}.factor", m.name),
            &m.factor,
            Kind::Factor,
            &|number| Slot::Factor { modifier, number },
        );
    }
}

/// Every parameter of `model`, in file order: each event's p and modifier factors (then those
/// of its end), then each outcome's (an outcome reached only at the horizon has none).
pub fn list(model: &Model) -> Vec<Parameter> {
    let mut list = Vec::new();
    for (i, event) in model.events().iter().enumerate() {
        let prefix = format!("events.{}", event.id);
        hazard_parameters(&prefix, Owner::Event(i), &event.hazard, &mut list);
        if let Some(ends) = &event.ends {
            hazard_parameters(
                &format!("{prefix}.ends"),
                Owner::EventEnd(i),
                ends,
                &mut list,
            );
        }
    }
    for (i, outcome) in model.outcomes().iter().enumerate() {
        if let Some(hazard) = &outcome.hazard {
            let prefix = format!("outcomes.{}", outcome.id);
            hazard_parameters(&prefix, Owner::Outcome(i), hazard, &mut list);
        }
    }
    list
}

/// The parameter named `key`; the error lists the closest keys.
pub fn find(model: &Model, key: &str) -> Result<Parameter, SettingError> {
    let all = list(model);
    if let Some(found) = all.iter().find(|p| p.key == key) {
        return Ok(found.clone());
    }
    let mut near: Vec<(usize, &str)> = all
        .iter()
        .map(|p| (strsim::levenshtein(&p.key, key), p.key.as_str()))
        .collect();
    near.sort();
    let suggestions: Vec<&str> = near.iter().take(3).map(|&(_, k)| k).collect();
    Err(SettingError(format!(
        "'{key}' is not a parameter of scenario '{}' (closest: {}; `pathcast params {}` lists \
         all {})",
        model.id(),
        suggestions.join(", "),
        model.id(),
        all.len()
    )))
}

/// Checks that `value` is valid for `parameter`.
pub fn check_value(parameter: &Parameter, value: f64) -> Result<(), SettingError> {
    if parameter.kind.accepts(value) {
        Ok(())
    } else {
        Err(SettingError(format!(
            "{} = {value}: a {} must lie in {}",
            parameter.key,
            parameter.kind,
            parameter.kind.range()
        )))
    }
}

/// The numbers of one hazard while they are being changed: those of its base probability and
/// of each modifier's factor (see [`Rate::numbers`]).
struct Values {
    p: Vec<f64>,
    factors: Vec<Vec<f64>>,
}

impl Values {
    fn of(hazard: &Hazard) -> Values {
        let numbers = |rate: &Rate| rate.numbers().into_iter().map(|(_, v, _)| v).collect();
        Values {
            p: numbers(hazard.p()),
            factors: hazard
                .modifiers()
                .iter()
                .map(|m| numbers(&m.factor))
                .collect(),
        }
    }

    /// The number at `slot`, if this hazard has it.
    fn get_mut(&mut self, slot: Slot) -> Option<&mut f64> {
        match slot {
            Slot::P { number } => self.p.get_mut(number),
            Slot::Factor { modifier, number } => self.factors.get_mut(modifier)?.get_mut(number),
        }
    }

    /// `hazard` with these numbers.
    fn apply(&self, hazard: &Hazard) -> Hazard {
        let factors: Vec<Rate> = hazard
            .modifiers()
            .iter()
            .zip(&self.factors)
            .map(|(m, numbers)| m.factor.with_numbers(numbers))
            .collect();
        hazard.with_values(hazard.p().with_numbers(&self.p), &factors)
    }
}

impl Model {
    /// This model with the given parameters (listed from a model of the same scenario) set to
    /// new values; every other number stays. Refuses a value outside its parameter's range.
    pub fn with_parameters(&self, values: &[(&Parameter, f64)]) -> Result<Model, SettingError> {
        let mut events: Vec<Values> = self
            .events()
            .iter()
            .map(|e| Values::of(&e.hazard))
            .collect();
        let mut ends: Vec<Option<Values>> = self
            .events()
            .iter()
            .map(|e| e.ends.as_ref().map(Values::of))
            .collect();
        let mut outcomes: Vec<Option<Values>> = self
            .outcomes()
            .iter()
            .map(|o| o.hazard.as_ref().map(Values::of))
            .collect();
        for &(parameter, value) in values {
            check_value(parameter, value)?;
            let target = match parameter.owner {
                Owner::Event(i) => events.get_mut(i),
                Owner::EventEnd(i) => ends.get_mut(i).and_then(Option::as_mut),
                Owner::Outcome(i) => outcomes.get_mut(i).and_then(Option::as_mut),
            };
            let Some(target) = target.and_then(|v| v.get_mut(parameter.slot)) else {
                return Err(SettingError(format!(
                    "{} is not a parameter of scenario '{}'",
                    parameter.key,
                    self.id()
                )));
            };
            *target = value;
        }
        let changed = |h: &Hazard, v: &Values| v.apply(h);
        let events = self
            .events()
            .iter()
            .zip(events.iter().zip(&ends))
            .map(|(e, (v, end))| {
                let ends = e
                    .ends
                    .as_ref()
                    .zip(end.as_ref())
                    .map(|(h, v)| changed(h, v));
                (changed(&e.hazard, v), ends)
            })
            .collect();
        let outcomes = self
            .outcomes()
            .iter()
            .zip(&outcomes)
            .map(|(o, v)| {
                o.hazard
                    .as_ref()
                    .zip(v.as_ref())
                    .map(|(h, v)| changed(h, v))
            })
            .collect();
        Ok(self.rebuilt(events, outcomes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        crate::scenario::load_preset("baseline", &[]).unwrap().model
    }

    #[test]
    fn keys_are_the_keys_set_takes() {
        let model = model();
        let all = list(&model);
        assert!(all.iter().any(|p| p.key == "events.meeting.p.start"));
        assert!(all
            .iter()
            .any(|p| p.key == "events.ceasefire.modifiers.meeting.factor"));
        assert!(all.iter().any(|p| p.key == "events.ceasefire.ends.p"));
        // Setting each one through --set gives the value the seam reports for it.
        for parameter in all.iter().take(6) {
            let set = format!("{}={}", parameter.key, parameter.value * 0.5 + 0.01);
            let via_set = crate::scenario::load_preset("baseline", &[set])
                .unwrap()
                .model;
            let via_seam = model
                .with_parameters(&[(parameter, parameter.value * 0.5 + 0.01)])
                .unwrap();
            assert_eq!(
                list(&via_set),
                list(&via_seam),
                "{} through --set and through the seam",
                parameter.key
            );
        }
    }

    #[test]
    fn out_of_range_values_and_unknown_keys_are_refused() {
        let model = model();
        let p = find(&model, "events.meeting.p.start").unwrap();
        assert!(model.with_parameters(&[(&p, 1.5)]).is_err());
        let f = find(&model, "events.meeting.modifiers.pressure.factor").unwrap();
        assert!(model.with_parameters(&[(&f, 0.0)]).is_err());
        let err = find(&model, "events.meting.p").unwrap_err();
        assert!(err.0.contains("events.meeting.p"), "{err}");
    }
}
