//! Checks a merged scenario document and turns it into a [`Model`].

use super::condition::{self, Condition, RESERVED_WORDS};
use super::document::{Document, EventDoc, Loc, Number, PieceDoc, Until};
use super::source::{file_error, Sources};
use crate::error::ScenarioError;
use crate::model::{
    Definition, Event, Hazard, HorizonRule, Model, Modifier, Outcome, StepUnit, MAX_EVENTS,
};
use crate::parameters::Kind;
use crate::rate::{Piece, Rate};
use crate::text::excerpt;
use crate::uncertainty::{Distribution, Shape, Uncertain, DEFAULT_SAMPLES, MAX_SAMPLES};
use chrono::NaiveDate;
use std::cell::RefCell;

/// Longer horizons than this are refused: they are typos, not scenarios.
pub const MAX_HORIZON: i64 = 10_000;
pub const DEFAULT_PATHS: u64 = 100_000;
/// Ids (of the scenario, events, outcomes, modifiers) name folders, columns and conditions:
/// short words. The limit keeps every output folder name within a file system's 255 bytes.
pub const MAX_ID_CHARS: usize = 64;
/// Labels and titles are one line of words, shown in tables.
pub const MAX_LABEL_CHARS: usize = 300;

struct Checker<'a> {
    sources: &'a Sources,
    document: &'a Document,
    /// The uncertain inputs met so far, in file order.
    uncertain: RefCell<Vec<Uncertain>>,
}

impl Checker<'_> {
    fn error<T>(&self, loc: &Loc<T>, key: &str, message: impl Into<String>) -> ScenarioError {
        self.sources.error(loc.source, &loc.span, key, message)
    }

    /// An error about an event or outcome as a whole, placed where its id was written.
    fn at_id(&self, event: &EventDoc, key: &str, message: impl Into<String>) -> ScenarioError {
        match &event.at {
            Some(at) => self.error(at, key, message),
            None => file_error(
                &self.sources.get(0).name,
                format!("{key}: {}", message.into()),
            ),
        }
    }

    /// An error about a key that is missing: placed in the file the scenario was named by.
    fn missing(&self, key: &str, what: &str) -> ScenarioError {
        file_error(&self.sources.get(0).name, format!("{key}: missing; {what}"))
    }

    fn event_ids(&self) -> Vec<&str> {
        self.document.events.keys().map(String::as_str).collect()
    }

    fn condition(&self, loc: &Loc<String>, key: &str) -> Result<Condition, ScenarioError> {
        let resolve = |id: &str, ever: bool| -> Result<u8, String> {
            if let Some(index) = self.document.events.get_index_of(id) {
                Ok(if ever {
                    ever_bit(self.document, index)
                } else {
                    index as u8
                })
            } else if self.document.outcomes.contains_key(id) {
                Err(format!(
                    "'{id}' is an outcome; conditions name events only (a path ends at its \
                     first outcome)"
                ))
            } else {
                Err(format!(
                    "unknown event id '{id}' (events: {})",
                    self.event_ids().join(", ")
                ))
            }
        };
        condition::parse(&loc.value, &resolve)
            .map_err(|e| self.error(loc, key, format!("{e} in {}", echo(&loc.value))))
    }

    /// A label or title: one line of at most [`MAX_LABEL_CHARS`] characters.
    fn text(&self, loc: &Option<Loc<String>>, key: &str) -> Result<Option<String>, ScenarioError> {
        let Some(l) = loc else {
            return Ok(None);
        };
        let chars = l.value.chars().count();
        let problem = if l.value.trim().is_empty() {
            "must not be empty".to_string()
        } else if l.value.contains(['\n', '\r']) {
            "must be one line (it holds a line break)".to_string()
        } else if chars > MAX_LABEL_CHARS {
            format!("is {chars} characters long; at most {MAX_LABEL_CHARS} are allowed")
        } else {
            return Ok(Some(l.value.clone()));
        };
        Err(self.error(l, key, problem))
    }

    /// A `p` or `factor` of a hazard whose window begins at step `first` (where a decay
    /// starts), as a constant, schedule or decay; see [`crate::rate`].
    fn rate(
        &self,
        loc: &Loc<Number>,
        key: &str,
        kind: Kind,
        first: u32,
        time: &Time,
    ) -> Result<Rate, ScenarioError> {
        match &loc.value {
            Number::Fixed(x) if kind.accepts(*x) => Ok(Rate::Constant(*x)),
            Number::Fixed(x) => Err(self.error(loc, key, refusal(kind, *x))),
            Number::Uncertain(shape) => Ok(Rate::Constant(self.median(loc, key, kind, *shape)?)),
            Number::Decay { start, half_life } => Ok(Rate::Decay {
                start: self.checked(start, &format!("{key}.start"), kind)?,
                half_life: self.checked(half_life, &format!("{key}.half_life"), Kind::HalfLife)?,
                from: first,
            }),
            Number::Schedule(pieces) => self.schedule(loc, key, kind, pieces, time),
            Number::Patch(changes) => {
                let (name, at) = &changes[0];
                let decay = changes
                    .iter()
                    .all(|(k, _)| k == "start" || k == "half_life");
                let why = if decay {
                    "a decay needs both start and half_life; either alone changes that number of \
                     the decay of the scenario this one extends, and that value is not a decay"
                } else {
                    "a number alone changes that piece of the schedule of the scenario this one \
                     extends, and that value is not a schedule with such a piece; give the whole \
                     schedule instead"
                };
                Err(self.error(at, &format!("{key}.{name}"), why))
            }
        }
    }

    /// A number of a schedule or decay, checked against its kind.
    fn checked(&self, x: &Loc<f64>, key: &str, kind: Kind) -> Result<f64, ScenarioError> {
        if kind.accepts(x.value) {
            Ok(x.value)
        } else {
            Err(self.error(x, key, refusal(kind, x.value)))
        }
    }

    /// A schedule: each piece's value checked against `kind`, and its `until` turned into the
    /// last step it covers. Pieces are named by their index, as their `--set` keys are
    /// (`events.x.p.1`).
    fn schedule(
        &self,
        loc: &Loc<Number>,
        key: &str,
        kind: Kind,
        pieces: &[PieceDoc],
        time: &Time,
    ) -> Result<Rate, ScenarioError> {
        let name = match kind {
            Kind::Probability => "p",
            _ => "factor",
        };
        if pieces.is_empty() {
            return Err(self.error(
                loc,
                key,
                format!(
                    "a schedule needs at least one piece, the last without until, e.g. \
                     [{{ until = 10, {name} = ... }}, {{ {name} = ... }}]"
                ),
            ));
        }
        let mut rates = Vec::new();
        let mut previous = None;
        for (i, piece) in pieces.iter().enumerate() {
            let piece_key = format!("{key}.{i}");
            if piece.key != name {
                return Err(self.error(
                    &piece.value,
                    &piece_key,
                    format!(
                        "a piece of a {name} schedule gives its value as {name} = ..., not {} = \
                         ...",
                        piece.key
                    ),
                ));
            }
            let value = self.checked(&piece.value, &piece_key, kind)?;
            let is_last = i + 1 == pieces.len();
            let last =
                match (&piece.until, is_last) {
                    (None, true) => u32::MAX,
                    (None, false) => return Err(self.error(
                        &piece.value,
                        &piece_key,
                        "only the last piece may leave out until (it runs to the horizon); give \
                         this one the step or date it runs to",
                    )),
                    (Some(until), true) => return Err(self.error(
                        until,
                        &format!("{piece_key}.until"),
                        "the last piece runs to the horizon: leave out its until, or add a piece \
                         after it",
                    )),
                    (Some(until), false) => {
                        let step =
                            self.until(until, &format!("{piece_key}.until"), previous, time)?;
                        previous = Some(step);
                        step
                    }
                };
            rates.push(Piece { last, value });
        }
        Ok(Rate::Schedule(rates))
    }

    /// The last step a piece covers: its `until` step, or for a date the last step that
    /// begins on or before it; after the previous piece's (`previous`), and before the horizon,
    /// so that every piece covers at least one step.
    fn until(
        &self,
        until: &Loc<Until>,
        key: &str,
        previous: Option<u32>,
        time: &Time,
    ) -> Result<u32, ScenarioError> {
        let refuse = |message: String| Err(self.error(until, key, message));
        let (step, what) = match &until.value {
            Until::Step(t) => (*t, format!("until {t}")),
            Until::Date(date) => {
                let t = time
                    .last_step_by(date)
                    .map_err(|m| self.error(until, key, m))?;
                (
                    i64::from(t),
                    format!("until {date} (step {t}, the last that begins by then)"),
                )
            }
        };
        let horizon = i64::from(time.horizon);
        if step < 1 {
            return refuse(format!("{what} is before step 1"));
        }
        if let Some(p) = previous.filter(|&p| step <= i64::from(p)) {
            return refuse(format!(
                "{what} must come after the previous piece's until (step {p}): untils increase \
                 strictly"
            ));
        }
        if step >= horizon {
            // A date's step is counted up to the horizon only: a later date names it too.
            let past = match &until.value {
                Until::Date(date) => {
                    format!("until {date} falls in the last step ({horizon}) or after it")
                }
                Until::Step(_) if step == horizon => format!("{what} is the horizon"),
                Until::Step(_) => format!("{what} is past the horizon ({horizon})"),
            };
            return refuse(format!(
                "{past}: the last piece, which runs from the step after the last until to the \
                 horizon, would cover no step"
            ));
        }
        Ok(step as u32)
    }

    /// The value a plain run uses for an uncertain input: its median; the input is then listed
    /// among the model's uncertain inputs under `key`.
    fn median(
        &self,
        loc: &Loc<Number>,
        key: &str,
        kind: Kind,
        shape: Shape,
    ) -> Result<f64, ScenarioError> {
        let distribution = Distribution::new(kind, shape).map_err(|m| self.error(loc, key, m))?;
        let median = distribution.median();
        self.uncertain.borrow_mut().push(Uncertain {
            key: key.to_string(),
            distribution,
        });
        Ok(median)
    }

    /// The hazard written in `event` under `key`, with its `p` written at `p`.
    fn hazard(
        &self,
        event: &EventDoc,
        key: &str,
        p: &Loc<Number>,
        time: &Time,
    ) -> Result<Hazard, ScenarioError> {
        let horizon = time.horizon;
        let window = match &event.window {
            None => (1, horizon),
            Some(loc) => {
                let key = format!("{key}.window");
                let [first, last] = loc.value[..] else {
                    return Err(self.error(loc, &key, "expected [first step, last step]"));
                };
                if first < 1 || last < first || last > i64::from(horizon) {
                    return Err(self.error(
                        loc,
                        &key,
                        format!(
                            "window [{first}, {last}] must satisfy 1 <= first <= last <= \
                             horizon ({horizon})"
                        ),
                    ));
                }
                (first as u32, last as u32)
            }
        };
        let when = match &event.when {
            Some(loc) => Some(self.condition(loc, &format!("{key}.when"))?),
            None => None,
        };
        let mut modifiers = Vec::new();
        for (name, modifier) in &event.modifiers {
            let key = format!("{key}.modifiers.{}", quoted_key(name));
            if let Some(problem) = id_problem(name) {
                let problem = format!("'{}' cannot name a modifier: {problem}", excerpt(name));
                return Err(self.at_id(event, &key, problem));
            }
            let when = modifier.when.as_ref().ok_or_else(|| {
                self.at_id(
                    event,
                    &format!("{key}.when"),
                    "missing; a modifier needs a condition",
                )
            })?;
            let factor = modifier.factor.as_ref().ok_or_else(|| {
                self.at_id(
                    event,
                    &format!("{key}.factor"),
                    "missing; a modifier needs a factor",
                )
            })?;
            let factor = self.rate(
                factor,
                &format!("{key}.factor"),
                Kind::Factor,
                window.0,
                time,
            )?;
            modifiers.push(Modifier {
                name: name.clone(),
                when: self.condition(when, &format!("{key}.when"))?,
                factor,
            });
        }
        let p = self.rate(p, &format!("{key}.p"), Kind::Probability, window.0, time)?;
        Ok(Hazard::new(p, window, when, modifiers))
    }
}

/// The state bit of `ever(event)`, as [`Model`] numbers them: the event's own bit if it cannot
/// end, else the next bit after the events in the order of the events that can end.
fn ever_bit(document: &Document, event: usize) -> u8 {
    let events = &document.events;
    if events[event].ends.is_none() {
        return event as u8;
    }
    let before = events
        .values()
        .take(event)
        .filter(|e| e.ends.is_some())
        .count();
    (events.len() + before) as u8
}

/// Checks what only an event may say: how it ends, and whether it recurs.
fn check_ends(
    c: &Checker<'_>,
    key: &str,
    event: &EventDoc,
    is_event: bool,
) -> Result<(), ScenarioError> {
    if !is_event {
        if let Some(ends) = &event.ends {
            let why = "an outcome ends the path, so it cannot end itself";
            return Err(match &ends.p {
                Some(loc) => c.error(loc, &format!("{key}.ends.p"), why),
                None => c.at_id(event, &format!("{key}.ends"), why),
            });
        }
        if let Some(loc) = &event.recurs {
            return Err(c.error(
                loc,
                &format!("{key}.recurs"),
                "an outcome ends the path, so it cannot recur",
            ));
        }
        return Ok(());
    }
    let Some(ends) = &event.ends else {
        if let Some(loc) = &event.recurs {
            return Err(c.error(
                loc,
                &format!("{key}.recurs"),
                "only an event that can end can start again: give it an [ends] table",
            ));
        }
        return Ok(());
    };
    let key = format!("{key}.ends");
    if let Some(loc) = &ends.label {
        return Err(c.error(
            loc,
            &format!("{key}.label"),
            "an end has no label of its own",
        ));
    }
    if let Some(loc) = &ends.recurs {
        return Err(c.error(
            loc,
            &format!("{key}.recurs"),
            "recurs belongs to the event, not to its end",
        ));
    }
    if ends.ends.is_some() {
        return Err(c.at_id(event, &format!("{key}.ends"), "an end cannot end"));
    }
    Ok(())
}

fn check_id(c: &Checker<'_>, id: &str, kind: &str, event: &EventDoc) -> Result<(), ScenarioError> {
    match id_problem(id) {
        None => Ok(()),
        Some(problem) => Err(c.at_id(
            event,
            &format!("{kind}.{}", quoted_key(id)),
            format!("'{}' cannot be an id: {problem}", excerpt(id)),
        )),
    }
}

/// Why `id` cannot name an event, outcome or modifier, if it cannot: it appears in conditions
/// and in `--set` keys, so it must be one plain word.
fn id_problem(id: &str) -> Option<String> {
    let valid = id.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
        && id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !valid {
        Some("an id starts with a letter and holds only letters, digits and _".to_string())
    } else if RESERVED_WORDS.contains(&id) {
        Some("this word belongs to the condition language (and, or, not, true, false)".to_string())
    } else {
        too_long(id)
    }
}

/// Why an id or a modifier name is too long, if it is.
fn too_long(id: &str) -> Option<String> {
    let chars = id.chars().count();
    (chars > MAX_ID_CHARS)
        .then(|| format!("it is {chars} characters long; at most {MAX_ID_CHARS} are allowed"))
}

/// A key as TOML would need it written: bare when it can be, quoted otherwise.
fn quoted_key(id: &str) -> String {
    let bare = !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if bare {
        id.to_string()
    } else {
        format!("{id:?}")
    }
}

pub fn compile(document: &Document, sources: &Sources) -> Result<Model, ScenarioError> {
    let c = Checker {
        sources,
        document,
        uncertain: RefCell::new(Vec::new()),
    };
    let meta = &document.scenario;
    let id_loc = meta
        .id
        .as_ref()
        .ok_or_else(|| c.missing("scenario.id", "name the scenario, e.g. id = \"baseline\""))?;
    let id = id_loc.value.clone();
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if !id_ok {
        return Err(c.error(
            id_loc,
            "scenario.id",
            "must be letters, digits, _ or - (it names the output folder)",
        ));
    }
    if let Some(problem) = too_long(&id) {
        return Err(c.error(id_loc, "scenario.id", problem));
    }
    let title = c
        .text(&meta.title, "scenario.title")?
        .unwrap_or_else(|| id.clone());
    let description = meta
        .description
        .as_ref()
        .map(|d| d.value.clone())
        .unwrap_or_default();
    let step = match &meta.step {
        None => StepUnit::Week,
        Some(loc) => StepUnit::parse(&loc.value).ok_or_else(|| {
            c.error(
                loc,
                "scenario.step",
                format!("'{}' is not day, week or month", loc.value),
            )
        })?,
    };
    let horizon_loc = meta
        .horizon
        .as_ref()
        .ok_or_else(|| c.missing("scenario.horizon", "give the number of steps, e.g. 52"))?;
    if !(1..=MAX_HORIZON).contains(&horizon_loc.value) {
        return Err(c.error(
            horizon_loc,
            "scenario.horizon",
            format!(
                "horizon {} must be between 1 and {MAX_HORIZON} steps",
                horizon_loc.value
            ),
        ));
    }
    let horizon = horizon_loc.value as u32;
    let start = match &meta.start {
        None => None,
        Some(loc) => Some(date(&c, loc)?),
    };
    let paths = match &meta.paths {
        None => DEFAULT_PATHS,
        Some(loc) if loc.value >= 1 => loc.value as u64,
        Some(loc) => {
            return Err(c.error(
                loc,
                "scenario.paths",
                "the number of paths must be at least 1",
            ))
        }
    };
    let samples = match &meta.samples {
        None => DEFAULT_SAMPLES,
        Some(loc) if (2..=MAX_SAMPLES as i64).contains(&loc.value) => loc.value as u64,
        Some(loc) => {
            return Err(c.error(
                loc,
                "scenario.samples",
                format!("the number of draws must be 2 to {MAX_SAMPLES}"),
            ))
        }
    };
    let seed = match &meta.seed {
        None => 0,
        Some(loc) if loc.value >= 0 => loc.value as u64,
        Some(loc) => return Err(c.error(loc, "scenario.seed", "the seed must be >= 0")),
    };
    let time = Time {
        horizon,
        start,
        step,
    };

    let state_bits = |n: usize| {
        let ending = document
            .events
            .values()
            .take(n)
            .filter(|e| e.ends.is_some());
        n + ending.count()
    };
    if let Some(n) = (1..=document.events.len()).find(|&n| state_bits(n) > MAX_EVENTS) {
        let (id, event) = document
            .events
            .get_index(n - 1)
            .expect("n is at most the count");
        return Err(c.at_id(
            event,
            &format!("events.{id}"),
            format!(
                "event number {n} of {}; a scenario has at most {MAX_EVENTS} events, counting \
                 one more for each event that can end (it needs a bit for ever(...))",
                document.events.len()
            ),
        ));
    }
    let mut events = Vec::new();
    for (id, event) in &document.events {
        check_id(&c, id, "events", event)?;
        if let Some(outcome) = document.outcomes.get(id) {
            return Err(c.at_id(
                outcome,
                &format!("outcomes.{id}"),
                format!("'{id}' is both an event and an outcome; ids must be unique"),
            ));
        }
        let key = format!("events.{id}");
        let label = c
            .text(&event.label, &format!("{key}.label"))?
            .ok_or_else(|| {
                c.at_id(
                    event,
                    &format!("{key}.label"),
                    "missing; give the event a label",
                )
            })?;
        let p_loc = event.p.as_ref().ok_or_else(|| {
            c.at_id(
                event,
                &format!("{key}.p"),
                "missing; give its probability per step",
            )
        })?;
        let hazard = c.hazard(event, &key, p_loc, &time)?;
        check_ends(&c, &key, event, true)?;
        let ends = match &event.ends {
            Some(ends) => {
                let key = format!("{key}.ends");
                let p_loc = ends.p.as_ref().ok_or_else(|| {
                    c.at_id(
                        event,
                        &format!("{key}.p"),
                        "missing; give the probability per step that it ends while in effect",
                    )
                })?;
                Some(c.hazard(ends, &key, p_loc, &time)?)
            }
            None => None,
        };
        events.push(Event {
            id: id.clone(),
            label,
            hazard,
            ends,
            recurs: event.recurs.as_ref().is_none_or(|r| r.value),
        });
    }

    if document.outcomes.is_empty() {
        return Err(c.missing("outcomes", "a scenario needs at least one outcome"));
    }
    if let Some((id, outcome)) = document.outcomes.get_index(MAX_EVENTS) {
        return Err(c.at_id(
            outcome,
            &format!("outcomes.{id}"),
            format!("a scenario has at most {MAX_EVENTS} outcomes"),
        ));
    }
    let mut outcomes = Vec::new();
    for (id, outcome) in &document.outcomes {
        check_id(&c, id, "outcomes", outcome)?;
        let key = format!("outcomes.{id}");
        check_ends(&c, &key, outcome, false)?;
        let label = c
            .text(&outcome.label, &format!("{key}.label"))?
            .ok_or_else(|| {
                c.at_id(
                    outcome,
                    &format!("{key}.label"),
                    "missing; give the outcome a label",
                )
            })?;
        let hazard = match &outcome.p {
            Some(p_loc) => Some(c.hazard(outcome, &key, p_loc, &time)?),
            None => {
                if let Some(loc) = outcome.window.as_ref() {
                    return Err(c.error(loc, &format!("{key}.window"), horizon_only(id)));
                }
                if let Some(loc) = outcome.when.as_ref() {
                    return Err(c.error(loc, &format!("{key}.when"), horizon_only(id)));
                }
                if !outcome.modifiers.is_empty() {
                    return Err(c.missing(&format!("{key}.p"), &horizon_only(id)));
                }
                None
            }
        };
        outcomes.push(Outcome {
            id: id.clone(),
            label,
            hazard,
        });
    }

    let outcome_index = |loc: &Loc<String>, key: &str| -> Result<usize, ScenarioError> {
        document.outcomes.get_index_of(&loc.value).ok_or_else(|| {
            c.error(
                loc,
                key,
                format!(
                    "unknown outcome '{}' (outcomes: {})",
                    loc.value,
                    document
                        .outcomes
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    };
    let mut horizon_rules = Vec::new();
    if let Some(rules) = &document.horizon.rules {
        for (i, rule) in rules.value.iter().enumerate() {
            let key = format!("horizon.rules[{i}]");
            horizon_rules.push(HorizonRule {
                when: c.condition(&rule.when, &format!("{key}.when"))?,
                outcome: outcome_index(&rule.outcome, &format!("{key}.outcome"))?,
            });
        }
    }
    let default_loc = document.horizon.default.as_ref().ok_or_else(|| {
        c.missing(
            "horizon.default",
            "name the outcome of a path that reaches the horizon, e.g. default = \"stalemate\"",
        )
    })?;
    let horizon_default = outcome_index(default_loc, "horizon.default")?;

    let model = Model::new(Definition {
        id,
        title,
        description,
        sources: meta
            .sources
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_default(),
        step,
        horizon,
        start,
        paths,
        samples,
        seed,
        events,
        outcomes,
        horizon_rules,
        horizon_default,
        uncertain: c.uncertain.take(),
    });
    // ISO 8601 dates have four-digit years: a date past 9999 would be written `+10000-01-01`,
    // which no spreadsheet reads as a date.
    if let Some(loc) = &meta.start {
        let last = model.date_of(horizon);
        if last.is_none_or(|d| d > NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX))
        {
            return Err(c.error(
                loc,
                "scenario.start",
                format!(
                    "step {horizon} would begin after 9999-12-31, where four-digit dates end; \
                     choose an earlier start or a shorter horizon"
                ),
            ));
        }
    }
    Ok(model)
}

/// What a rate's dates and steps are checked against.
struct Time {
    horizon: u32,
    start: Option<NaiveDate>,
    step: StepUnit,
}

impl Time {
    /// The last step that begins on or before `date`: the step an `until` date names.
    fn last_step_by(&self, date: &toml::value::Datetime) -> Result<u32, String> {
        let Some(start) = self.start else {
            return Err(format!(
                "until {date} is a date, and the scenario has no start date to count steps \
                 from: give scenario.start, or a step number"
            ));
        };
        let day = plain_date(date)
            .ok_or_else(|| format!("until '{date}' is not a plain date such as 2025-10-31"))?;
        if day < start {
            return Err(format!(
                "until {day} is before the start of the scenario ({start})"
            ));
        }
        // Steps begin in order, so the last one that begins by the date is found by counting.
        let mut step = 1;
        while step < self.horizon && self.step.date_of(start, step + 1).is_some_and(|d| d <= day) {
            step += 1;
        }
        Ok(step)
    }
}

/// Why `x` is not a valid value of `kind`.
fn refusal(kind: Kind, x: f64) -> String {
    match kind {
        Kind::Probability => format!("probability {x} is outside [0, 1]"),
        Kind::Factor => format!("factor {x} must be a finite number > 0"),
        Kind::HalfLife => format!("half-life {x} must be a finite number of steps > 0"),
    }
}

fn horizon_only(id: &str) -> String {
    format!(
        "outcome '{id}' has no p, so it is reached only through the horizon rules; give it a p \
         to let it happen during a path"
    )
}

/// A TOML date with no time or offset, such as 2025-08-26.
fn plain_date(value: &toml::value::Datetime) -> Option<NaiveDate> {
    match (&value.date, &value.time) {
        (Some(d), None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    }
}

fn date(c: &Checker<'_>, loc: &Loc<toml::value::Datetime>) -> Result<NaiveDate, ScenarioError> {
    let value = &loc.value;
    plain_date(value).ok_or_else(|| {
        c.error(
            loc,
            "scenario.start",
            format!("'{value}' is not a plain date such as 2025-08-26"),
        )
    })
}

/// Text from the file, quoted for an error message: control characters escaped and long
/// text cut, so that a hostile file cannot flood the terminal.
pub fn echo(text: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut quoted: String = format!("{text:?}");
    if quoted.chars().count() > MAX_CHARS {
        quoted = quoted.chars().take(MAX_CHARS).collect::<String>() + "...\"";
    }
    quoted
}
