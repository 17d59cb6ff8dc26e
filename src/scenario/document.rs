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

/// A `p` or `factor` as written: a plain number, an uncertain value such as
/// `{ low = 0.004, high = 0.02 }` (see [`crate::uncertainty`]), a schedule
/// `[{ until = 2025-10-31, p = 0.012 }, { p = 0.006 }]` or a decay
/// `{ start = 0.012, half_life = 12 }` (see [`crate::rate`]). Only the shape is checked here;
/// whether the numbers are valid is checked with the key's kind. The numbers of a schedule or
/// decay keep their own places: a file that extends another, or `--set`, may change one of
/// them, and an error about it must name where that number was written.
#[derive(Debug, Clone)]
pub enum Number {
    Fixed(f64),
    Uncertain(Shape),
    Schedule(Vec<PieceDoc>),
    Decay {
        start: Loc<f64>,
        half_life: Loc<f64>,
    },
    /// Some numbers of the parent's schedule or decay, by key (`"1"`, `"start"`,
    /// `"half_life"`): what a dotted key such as `events.x.p.1 = 0.02`, in a file that extends
    /// another or in `--set`, writes. Laid on the parent's value by [`Document::overlay`].
    Patch(Vec<(String, Loc<f64>)>),
}

/// One piece of a schedule as written.
#[derive(Debug, Clone)]
pub struct PieceDoc {
    /// The last step it covers, as a step number or a date; `None` for the last piece.
    pub until: Option<Loc<Until>>,
    /// The key its value was written under (`p` or `factor`), and the value.
    pub key: String,
    pub value: Loc<f64>,
}

#[derive(Debug, Clone)]
pub enum Until {
    Step(i64),
    Date(toml::value::Datetime),
}

impl Number {
    /// This value with `over` laid on it: a patch changes some numbers of a schedule or decay
    /// (and stays a patch, refused when compiled, if this is neither or a key does not fit);
    /// anything else replaces it.
    pub fn overlay(&mut self, over: Number) {
        let Number::Patch(changes) = &over else {
            *self = over;
            return;
        };
        let mut patched = self.clone();
        for (key, value) in changes {
            let slot = match (&mut patched, key.as_str()) {
                (Number::Schedule(pieces), index) => index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| pieces.get_mut(i))
                    .map(|p| &mut p.value),
                (Number::Decay { start, .. }, "start") => Some(start),
                (Number::Decay { half_life, .. }, "half_life") => Some(half_life),
                _ => None,
            };
            match slot {
                Some(slot) => *slot = value.clone(),
                None => {
                    *self = over;
                    return;
                }
            }
        }
        *self = patched;
    }

    /// Marks the numbers inside a schedule, decay or patch as read from source `source`.
    fn set_source(&mut self, source: usize) {
        match self {
            Number::Fixed(_) | Number::Uncertain(_) => {}
            Number::Schedule(pieces) => {
                for piece in pieces {
                    mark(&mut piece.until, source);
                    piece.value.source = source;
                }
            }
            Number::Decay { start, half_life } => {
                start.source = source;
                half_life.source = source;
            }
            Number::Patch(changes) => {
                for (_, value) in changes {
                    value.source = source;
                }
            }
        }
    }
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
        write!(
            f,
            "a number, an uncertain value ({UNCERTAIN_FORMS}), a schedule \
             [{{ until = ..., p = ... }}, ..., {{ p = ... }}] or a decay \
             {{ start = ..., half_life = ... }}"
        )
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

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Number, A::Error> {
        let mut pieces = Vec::new();
        while let Some(piece) = seq.next_element::<PieceDoc>()? {
            pieces.push(piece);
        }
        Ok(Number::Schedule(pieces))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
        use serde::de::Error;
        let (mut low, mut high, mut pair) = (None, None, None);
        let mut decay = Vec::new();
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
                // A decay, or numbers of the parent's schedule or decay (a dotted key).
                k if k == "start" || k == "half_life" || k.bytes().all(|b| b.is_ascii_digit()) => {
                    let value = plain(map.next_value()?, &key).map_err(A::Error::custom)?;
                    decay.push((key, value));
                }
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key `{other}` in a value; expected {UNCERTAIN_FORMS}, a decay \
                         {{ start = ..., half_life = ... }}, or a schedule (a list)"
                    )))
                }
            }
        }
        if !decay.is_empty() {
            if low.is_some() || high.is_some() || pair.is_some() {
                return Err(A::Error::custom(
                    "a value is either uncertain or a decay, not both",
                ));
            }
            let get = |k: &str| {
                decay
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            return Ok(match (get("start"), get("half_life"), decay.len()) {
                (Some(start), Some(half_life), 2) => Number::Decay { start, half_life },
                _ => Number::Patch(decay),
            });
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

/// A number of a schedule or decay, which must be written as a plain number: the exact solver
/// needs one value per step, so these cannot be uncertain.
fn plain(value: Loc<toml::Value>, key: &str) -> Result<Loc<f64>, String> {
    let number = match value.value {
        toml::Value::Float(x) => x,
        toml::Value::Integer(x) => x as f64,
        other => {
            // A bare index is a dotted key that sets one piece of a schedule.
            let what = if key.bytes().all(|b| b.is_ascii_digit()) {
                format!("piece {key}")
            } else {
                key.to_string()
            };
            return Err(format!(
                "{what} takes a plain number, not {other} (the numbers of a schedule or a decay \
                 cannot be uncertain)"
            ));
        }
    };
    Ok(Loc {
        value: number,
        source: value.source,
        span: value.span,
    })
}

/// One piece of a schedule: `{ until = <step or date>, p = <number> }` (or `factor = ...`),
/// the last one without `until`. Read by a visitor of its own so that an error in a piece of a
/// schedule written over several lines is placed on the piece's line.
impl<'de> Deserialize<'de> for PieceDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PieceVisitor)
    }
}

struct PieceVisitor;

impl<'de> serde::de::Visitor<'de> for PieceVisitor {
    type Value = PieceDoc;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a piece of a schedule such as {{ until = 2025-10-31, p = 0.012 }} (the last one \
             without until)"
        )
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PieceDoc, A::Error> {
        use serde::de::Error;
        let mut until = None;
        let mut value = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "until" => {
                    let loc: Loc<toml::Value> = map.next_value()?;
                    let step_or_date = match loc.value {
                        toml::Value::Integer(step) => Until::Step(step),
                        toml::Value::Datetime(date) => Until::Date(date),
                        other => {
                            return Err(A::Error::custom(format!(
                                "until takes a step number or a date such as 2025-10-31, not \
                                 {other}"
                            )))
                        }
                    };
                    until = Some(Loc {
                        value: step_or_date,
                        source: loc.source,
                        span: loc.span,
                    });
                }
                "p" | "factor" if value.is_some() => {
                    return Err(A::Error::custom(
                        "a piece of a schedule has one value: p (or factor), not both",
                    ))
                }
                "p" | "factor" => {
                    let number = plain(map.next_value()?, &key).map_err(A::Error::custom)?;
                    value = Some((key, number));
                }
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key `{other}` in a piece of a schedule; expected until and p (or \
                         factor)"
                    )))
                }
            }
        }
        let (key, value) = value.ok_or_else(|| {
            A::Error::custom("a piece of a schedule needs its value: p = ... (or factor = ...)")
        })?;
        Ok(PieceDoc { until, key, value })
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let shape = match self {
            Number::Fixed(v) => return serializer.serialize_f64(*v),
            Number::Uncertain(shape) => *shape,
            Number::Schedule(pieces) => {
                let mut seq = serializer.serialize_seq(Some(pieces.len()))?;
                for piece in pieces {
                    let mut table = toml::Table::new();
                    match piece.until.as_ref().map(|u| &u.value) {
                        Some(Until::Step(t)) => {
                            table.insert("until".into(), toml::Value::Integer(*t));
                        }
                        Some(Until::Date(d)) => {
                            table.insert("until".into(), toml::Value::Datetime(*d));
                        }
                        None => {}
                    }
                    table.insert(piece.key.clone(), toml::Value::Float(piece.value.value));
                    seq.serialize_element(&table)?;
                }
                return seq.end();
            }
            Number::Decay { start, half_life } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("start", &start.value)?;
                map.serialize_entry("half_life", &half_life.value)?;
                return map.end();
            }
            Number::Patch(changes) => {
                let mut map = serializer.serialize_map(Some(changes.len()))?;
                for (key, value) in changes {
                    map.serialize_entry(key, &value.value)?;
                }
                return map.end();
            }
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
    pub samples: Option<Loc<i64>>,
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
        mark_number(&mut self.p, source);
        mark(&mut self.window, source);
        mark(&mut self.when, source);
        mark(&mut self.recurs, source);
        for modifier in self.modifiers.values_mut() {
            mark(&mut modifier.when, source);
            mark_number(&mut modifier.factor, source);
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
        overlay_number(&mut self.p, over.p);
        replace(&mut self.window, over.window);
        replace(&mut self.when, over.when);
        replace(&mut self.recurs, over.recurs);
        for (name, modifier) in over.modifiers {
            let m = self.modifiers.entry(name).or_default();
            replace(&mut m.when, modifier.when);
            overlay_number(&mut m.factor, modifier.factor);
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

/// As [`mark`], for a `p` or `factor` and the numbers inside it.
fn mark_number(loc: &mut Option<Loc<Number>>, source: usize) {
    mark(loc, source);
    if let Some(loc) = loc {
        loc.value.set_source(source);
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
        mark(&mut m.samples, source);
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
        replace(&mut m.samples, o.samples);
        replace(&mut m.seed, o.seed);
        overlay_events(&mut self.events, over.events);
        overlay_events(&mut self.outcomes, over.outcomes);
        replace(&mut self.horizon.rules, over.horizon.rules);
        replace(&mut self.horizon.default, over.horizon.default);
        // Like the other lists: a file that declares targets replaces its parent's whole.
        replace(&mut self.targets, over.targets);
    }
}

/// Lays a `p` or `factor` on the parent's: a patch changes some of its numbers, keeping the
/// place the parent wrote it; anything else replaces it.
fn overlay_number(base: &mut Option<Loc<Number>>, over: Option<Loc<Number>>) {
    match (base.as_mut(), over) {
        (Some(base), Some(over)) if matches!(over.value, Number::Patch(_)) => {
            base.value.overlay(over.value.clone());
            // A patch that did not fit stays, refused where it was written.
            if matches!(base.value, Number::Patch(_)) {
                *base = over;
            }
        }
        (_, Some(over)) => *base = Some(over),
        (_, None) => {}
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
