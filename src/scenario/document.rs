//! The scenario file as written: TOML documents, each one layer of a scenario.
//!
//! Every key is optional here, because a file that `extends` another may set a single value.
//! Each value remembers the file and byte span it came from, so that validation can name the
//! file, the key and the line long after the layers were merged.

use crate::uncertainty::Shape;
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Range;

/// A value with the place it was written: `source` indexes the loader's list of sources.
#[derive(Debug, Clone)]
pub struct Loc<T> {
    pub value: T,
    pub source: usize,
    pub span: Range<usize>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loc<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        Ok(Loc {
            span: spanned.span(),
            value: spanned.into_inner(),
            source: usize::MAX,
        })
    }
}

impl<T: Serialize> Serialize for Loc<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// A `p` or `factor` as written: a plain number, or an uncertain value such as
/// `{ low = 0.004, high = 0.02 }` (see [`crate::uncertainty`]). Only the shape is checked
/// here; whether the numbers make a valid distribution is checked with the key's kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Fixed(f64),
    Uncertain(Shape),
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

const UNCERTAIN_FORMS: &str =
    "{ low = a, high = b }, { beta = [a, b] }, { lognormal = [median, sigma] } or \
     { uniform = [a, b] }";

impl<'de> serde::de::Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a number or an uncertain value: {UNCERTAIN_FORMS}")
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number::Fixed(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::Fixed(v as f64))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::Fixed(v as f64))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
        use serde::de::Error;
        let (mut low, mut high, mut pair) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "low" => low = Some(map.next_value::<f64>()?),
                "high" => high = Some(map.next_value::<f64>()?),
                "beta" | "lognormal" | "uniform" => {
                    let values: Vec<f64> = map.next_value()?;
                    let [a, b] = values[..] else {
                        return Err(A::Error::custom(format!(
                            "{key} takes two numbers, e.g. {key} = [2, 200]"
                        )));
                    };
                    if pair.is_some() {
                        return Err(A::Error::custom(format!(
                            "an uncertain value is one of {UNCERTAIN_FORMS}"
                        )));
                    }
                    pair = Some((key, a, b));
                }
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key `{other}` in an uncertain value; expected {UNCERTAIN_FORMS}"
                    )))
                }
            }
        }
        let shape = match (low, high, pair) {
            (Some(low), Some(high), None) => Shape::Interval { low, high },
            (None, None, Some((kind, a, b))) => match kind.as_str() {
                "beta" => Shape::Beta { a, b },
                "lognormal" => Shape::LogNormal {
                    median: a,
                    sigma: b,
                },
                _ => Shape::Uniform { a, b },
            },
            _ => {
                return Err(A::Error::custom(format!(
                    "an uncertain value is one of {UNCERTAIN_FORMS} (a 90% interval needs both \
                     low and high)"
                )))
            }
        };
        Ok(Number::Uncertain(shape))
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let shape = match *self {
            Number::Fixed(v) => return serializer.serialize_f64(v),
            Number::Uncertain(shape) => shape,
        };
        let mut map = serializer.serialize_map(None)?;
        match shape {
            Shape::Interval { low, high } => {
                map.serialize_entry("low", &low)?;
                map.serialize_entry("high", &high)?;
            }
            Shape::Beta { a, b } => map.serialize_entry("beta", &[a, b])?,
            Shape::LogNormal { median, sigma } => {
                map.serialize_entry("lognormal", &[median, sigma])?
            }
            Shape::Uniform { a, b } => map.serialize_entry("uniform", &[a, b])?,
        }
        map.end()
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<Loc<String>>,
    #[serde(default)]
    pub scenario: MetaDoc,
    #[serde(
        default,
        skip_serializing_if = "IndexMap::is_empty",
        deserialize_with = "spanned_ids"
    )]
    pub events: IndexMap<String, EventDoc>,
    #[serde(
        default,
        skip_serializing_if = "IndexMap::is_empty",
        deserialize_with = "spanned_ids"
    )]
    pub outcomes: IndexMap<String, EventDoc>,
    #[serde(default)]
    pub horizon: HorizonDoc,
    /// What the scenario is calibrated against (`[[targets]]`); checked by `crate::forecast`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<TargetDoc>>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetaDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Loc<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon: Option<Loc<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Loc<toml::value::Datetime>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Loc<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<Loc<i64>>,
}

/// Reads a table of events or outcomes, keeping where each id was written.
fn spanned_ids<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, EventDoc>, D::Error> {
    let table = IndexMap::<toml::Spanned<String>, EventDoc>::deserialize(deserializer)?;
    Ok(table
        .into_iter()
        .map(|(id, mut event)| {
            event.at = Some(Loc {
                span: id.span(),
                value: (),
                source: usize::MAX,
            });
            (id.into_inner(), event)
        })
        .collect())
}

/// An event or an outcome: both are hazards that may happen at a step.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventDoc {
    /// Where the id was first written (its table header or dotted key).
    #[serde(skip)]
    pub at: Option<Loc<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<Loc<Number>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Loc<Vec<i64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<Loc<String>>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub modifiers: IndexMap<String, ModifierDoc>,
    /// Whether an event that ended may start again (default: it may).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurs: Option<Loc<bool>>,
    /// How an event in effect ends: `p`, `window`, `when` and `modifiers` as for a start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends: Option<Box<EventDoc>>,
}

impl EventDoc {
    fn set_source(&mut self, source: usize) {
        mark(&mut self.at, source);
        mark(&mut self.label, source);
        mark(&mut self.p, source);
        mark(&mut self.window, source);
        mark(&mut self.when, source);
        mark(&mut self.recurs, source);
        for modifier in self.modifiers.values_mut() {
            mark(&mut modifier.when, source);
            mark(&mut modifier.factor, source);
        }
        if let Some(ends) = &mut self.ends {
            ends.set_source(source);
        }
    }

    /// Lays `over` on top of this event, key by key (see [`Document::overlay`]).
    fn overlay(&mut self, over: EventDoc) {
        if self.at.is_none() {
            self.at = over.at;
        }
        replace(&mut self.label, over.label);
        replace(&mut self.p, over.p);
        replace(&mut self.window, over.window);
        replace(&mut self.when, over.when);
        replace(&mut self.recurs, over.recurs);
        for (name, modifier) in over.modifiers {
            let m = self.modifiers.entry(name).or_default();
            replace(&mut m.when, modifier.when);
            replace(&mut m.factor, modifier.factor);
        }
        if let Some(ends) = over.ends {
            self.ends
                .get_or_insert_with(Default::default)
                .overlay(*ends);
        }
    }
}

fn mark<T>(loc: &mut Option<Loc<T>>, source: usize) {
    if let Some(loc) = loc {
        loc.source = source;
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModifierDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<Loc<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<Loc<Number>>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HorizonDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Loc<Vec<HorizonRuleDoc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Loc<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HorizonRuleDoc {
    pub when: Loc<String>,
    pub outcome: Loc<String>,
}

/// One calibration target: a question, its deadline, and the value the scenario should give.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetDoc {
    pub question: Loc<String>,
    /// A step number or a date; exactly one of `by` and `at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Loc<toml::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Loc<toml::Value>>,
    /// `[low, high]`, or one number with `tolerance`.
    pub value: Loc<toml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Loc<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Loc<String>>,
}

impl Document {
    /// Records that every value in this document came from source `source`.
    pub fn set_source(&mut self, source: usize) {
        mark(&mut self.extends, source);
        let m = &mut self.scenario;
        mark(&mut m.id, source);
        mark(&mut m.title, source);
        mark(&mut m.description, source);
        mark(&mut m.sources, source);
        mark(&mut m.step, source);
        mark(&mut m.horizon, source);
        mark(&mut m.start, source);
        mark(&mut m.paths, source);
        mark(&mut m.seed, source);
        for event in self.events.values_mut().chain(self.outcomes.values_mut()) {
            event.set_source(source);
        }
        mark(&mut self.horizon.rules, source);
        if let Some(rules) = &mut self.horizon.rules {
            for rule in &mut rules.value {
                rule.when.source = source;
                rule.outcome.source = source;
            }
        }
        mark(&mut self.horizon.default, source);
        for target in self.targets.iter_mut().flatten() {
            target.question.source = source;
            target.value.source = source;
            mark(&mut target.by, source);
            mark(&mut target.at, source);
            mark(&mut target.tolerance, source);
            mark(&mut target.source, source);
        }
    }

    /// Lays `over` on top of `self`: every value `over` sets replaces the one here; events,
    /// outcomes and modifiers are merged by id; a list (sources, window, rules, targets) is
    /// replaced whole.
    pub fn overlay(&mut self, over: Document) {
        let (m, o) = (&mut self.scenario, over.scenario);
        replace(&mut m.id, o.id);
        replace(&mut m.title, o.title);
        replace(&mut m.description, o.description);
        replace(&mut m.sources, o.sources);
        replace(&mut m.step, o.step);
        replace(&mut m.horizon, o.horizon);
        replace(&mut m.start, o.start);
        replace(&mut m.paths, o.paths);
        replace(&mut m.seed, o.seed);
        overlay_events(&mut self.events, over.events);
        overlay_events(&mut self.outcomes, over.outcomes);
        replace(&mut self.horizon.rules, over.horizon.rules);
        replace(&mut self.horizon.default, over.horizon.default);
        // Like the other lists: a file that declares targets replaces its parent's whole.
        replace(&mut self.targets, over.targets);
    }
}

fn replace<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

fn overlay_events(base: &mut IndexMap<String, EventDoc>, over: IndexMap<String, EventDoc>) {
    for (id, event) in over {
        base.entry(id).or_default().overlay(event);
    }
}
