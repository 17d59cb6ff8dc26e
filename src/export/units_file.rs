//! The units file of a shard folder (`units.txt`): for a shard of a run with uncertain inputs
//! (its unit: a sample), of a sweep (a grid point) or of a sensitivity analysis (a parameter),
//! the exact result of each of its units, from which `pathcast merge` derives the tables of
//! the whole job. Floating-point results are written so that they read back to the same bits,
//! and integer counts as integers, so the merged tables are those of one run, byte for byte.
//! Version 1, defined in docs/sharding.md:
//!
//! ```text
//! pathcast-units 1
//! # comment lines start with '#'
//! scenario_sha256 <64 hex digits>
//! seed <u64>
//! command <run|exact|sweep|sensitivity>
//! engine <exact|monte-carlo>
//! paths <paths per evaluation>                 (monte-carlo only)
//! <the lines that define the command's units>  (see each command)
//! units <samples|points|parameters> <total>
//! range <first> <end>
//! unit <index>                                 (each unit of the range, in order, with
//! <its result lines>                            the lines its command writes)
//! sha256 <SHA-256 of every byte before this line>
//! ```

use super::sealed::{self, counts_line, floats_line, Lines};
use super::tally_file;
use crate::analysis::sensitivity::{self, Swung, Varied};
use crate::analysis::sweep::{self, Axis};
use crate::analysis::{Evaluated, Used};
use crate::model::Model;
use crate::parameters;
use crate::report::ExactMasses;
use crate::shard::{ShardOfRun, Unit};
use crate::simulate::paired::{shared_items, PairCounts};
use crate::uncertainty::SampleResult;
use sha2::{Digest, Sha256};
use std::io::Write;

pub const FILE_NAME: &str = "units.txt";
/// The first line; a reader refuses any other, so a later format gets a new number.
pub const MAGIC: &str = "pathcast-units 1";

/// What a units file says its units are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitsOf {
    pub scenario_sha256: String,
    pub seed: u64,
    /// `run`, `exact`, `sweep` or `sensitivity`.
    pub command: String,
    pub used: Used,
    /// The command's lines that define its units (the grid, the parameters, ...), as
    /// written: the same in every shard of one job, and read by the command.
    pub definition: String,
    /// The line of the file the definition starts on, for messages (when read).
    pub definition_line: usize,
    pub unit: Unit,
    /// Units of the whole job.
    pub total: u64,
    /// The shard's units are [first, end).
    pub first: u64,
    pub end: u64,
}

impl UnitsOf {
    /// The header of the units file of `shard`, a shard of `command` by `used`.
    pub fn new(
        scenario_sha256: &str,
        seed: u64,
        command: &str,
        used: Used,
        definition: String,
        shard: &ShardOfRun,
    ) -> UnitsOf {
        UnitsOf {
            scenario_sha256: scenario_sha256.to_string(),
            seed,
            command: command.to_string(),
            used,
            definition,
            definition_line: 0,
            unit: shard.unit,
            total: shard.total,
            first: shard.first,
            end: shard.end,
        }
    }
}

/// Writes a units file as the units are computed, so that memory does not grow with them;
/// the checksum is computed on the way.
pub struct UnitsWriter<W: Write> {
    sink: W,
    hasher: Sha256,
}

impl<W: Write> UnitsWriter<W> {
    /// Starts the file described by `of`.
    pub fn new(sink: W, of: &UnitsOf) -> std::io::Result<UnitsWriter<W>> {
        let mut writer = UnitsWriter {
            sink,
            hasher: Sha256::new(),
        };
        writer.put(&header(of))?;
        Ok(writer)
    }

    fn put(&mut self, text: &str) -> std::io::Result<()> {
        self.hasher.update(text.as_bytes());
        self.sink.write_all(text.as_bytes())
    }

    /// Writes unit `index`, whose result lines are `lines`.
    pub fn unit(&mut self, index: u64, lines: &str) -> std::io::Result<()> {
        self.put(&unit_line(index))?;
        self.put(lines)
    }

    /// Ends the file with its checksum line.
    pub fn finish(mut self) -> std::io::Result<W> {
        let checksum = super::manifest::hex(&self.hasher.finalize());
        self.sink
            .write_all(format!("sha256 {checksum}\n").as_bytes())?;
        Ok(self.sink)
    }
}

/// The whole units file of `of` and its `units` (each unit's lines, in order from
/// `of.first`), for a shard whose units are all computed before it is written.
pub fn text(of: &UnitsOf, units: &[String]) -> String {
    let mut body = header(of);
    for (index, lines) in (of.first..).zip(units) {
        body.push_str(&unit_line(index));
        body.push_str(lines);
    }
    sealed::seal(body)
}

fn unit_line(index: u64) -> String {
    format!("unit {index}\n")
}

/// The lines of the file before its first unit.
fn header(of: &UnitsOf) -> String {
    let mut head = format!(
        "{MAGIC}\n# Exact results of the units of a pathcast shard; format in \
             docs/sharding.md.\nscenario_sha256 {}\nseed {}\ncommand {}\nengine {}\n",
        of.scenario_sha256,
        of.seed,
        of.command,
        of.used.name()
    );
    if let Used::MonteCarlo { paths, .. } = of.used {
        head.push_str(&format!("paths {paths}\n"));
    }
    head.push_str(&of.definition);
    head.push_str(&format!(
        "units {} {}\nrange {} {}\n",
        of.unit.name(),
        of.total,
        of.first,
        of.end
    ));
    head
}

/// Appends the lines of `masses`: one per row of each table, named by the table, in the
/// order of [`ExactMasses::tables`].
pub fn write_masses(out: &mut String, masses: &ExactMasses) {
    for (name, rows) in masses.tables() {
        for row in rows {
            floats_line(out, name, row);
        }
    }
}

/// Reads the lines [`write_masses`] writes, of a solution of `model`.
pub fn read_masses(lines: &mut Lines<'_>, model: &Model) -> Result<ExactMasses, String> {
    let mut masses = ExactMasses::zero(model);
    for (name, rows) in masses.tables_mut() {
        for row in rows.iter_mut() {
            *row = lines.floats(name, row.len())?;
        }
    }
    Ok(masses)
}

/// Appends the lines of one model's result: its masses, or the count lines of its tally as
/// `tally.txt` has them.
pub fn write_evaluated(out: &mut String, model: &Model, evaluated: &Evaluated) {
    match evaluated {
        Evaluated::Exact(masses) => write_masses(out, masses),
        Evaluated::Simulated(tally) => tally_file::write_counts(out, model, tally),
    }
}

/// Reads the lines [`write_evaluated`] writes for `model`, evaluated by `used`.
pub fn read_evaluated(
    lines: &mut Lines<'_>,
    model: &Model,
    used: Used,
) -> Result<Evaluated, String> {
    match used {
        Used::Exact => read_masses(lines, model).map(Evaluated::Exact),
        Used::MonteCarlo { paths, .. } => {
            let tally = tally_file::read_counts(lines, model, paths).map_err(|e| lines.error(e))?;
            Ok(Evaluated::Simulated(tally))
        }
    }
}

/// Reads the header of a units file, up to its first unit. The units follow in `Lines`:
/// read each with [`next_unit`] and the command's reader, then call [`Lines::end`].
pub fn read(text: &str) -> Result<(UnitsOf, Lines<'_>), String> {
    let (body, _) = sealed::open(text, MAGIC, "units file")?;
    let mut lines = Lines::new(body);
    let scenario_sha256 = lines.value("scenario_sha256")?.to_string();
    let seed = lines.number("seed")?;
    let command = lines.value("command")?.to_string();
    let used = match lines.value("engine")? {
        "exact" => Used::Exact,
        "monte-carlo" => Used::MonteCarlo {
            paths: lines.number("paths")?,
            seed,
        },
        other => return Err(lines.error(format!("unknown engine '{other}'"))),
    };
    let (definition, definition_line) = lines.take_until("units")?;
    let (unit, total) = match lines.next("units")?.as_slice() {
        ["units", unit, total] => {
            let unit = match *unit {
                "samples" => Unit::Samples,
                "points" => Unit::Points,
                "parameters" => Unit::Parameters,
                _ => return Err(lines.error(format!("unknown units '{unit}'"))),
            };
            let total = sealed::number(total)
                .ok_or_else(|| lines.error(format!("'{total}' is not a whole number")))?;
            (unit, total)
        }
        _ => return Err(lines.error("expected 'units <kind> <total>'")),
    };
    let (first, end) = match lines.next("range")?.as_slice() {
        ["range", first, end] => sealed::number(first)
            .zip(sealed::number(end))
            .ok_or_else(|| lines.error("expected 'range <first> <end>', whole numbers"))?,
        _ => return Err(lines.error("expected 'range <first> <end>'")),
    };
    let of = UnitsOf {
        scenario_sha256,
        seed,
        command,
        used,
        definition,
        definition_line,
        unit,
        total,
        first,
        end,
    };
    Ok((of, lines))
}

/// Reads the `unit <index>` line that starts the next unit, which must be `index`.
pub fn next_unit(lines: &mut Lines<'_>, index: u64) -> Result<(), String> {
    match lines.next("unit")?.as_slice() {
        ["unit", i] if sealed::number(i) == Some(index) => Ok(()),
        _ => Err(lines.error(format!("expected 'unit {index}'"))),
    }
}

/// The definition of a run with uncertain inputs: `inputs <key> ...`, the columns of its
/// samples' `values` lines.
pub fn uncertain_definition(model: &Model) -> String {
    let keys: Vec<&str> = model.uncertain().iter().map(|u| u.key.as_str()).collect();
    format!("inputs {}\n", keys.join(" "))
}

/// Checks the definition of a run with uncertain inputs against `model`.
pub fn read_uncertain_definition(of: &UnitsOf, model: &Model) -> Result<(), String> {
    if of.definition != uncertain_definition(model) {
        return Err(format!(
            "line {}: the uncertain inputs are not the scenario's",
            of.definition_line
        ));
    }
    Ok(())
}

/// The lines of one sample: `values` (its inputs at A), the masses at A, `b` (each outcome at
/// B) and one `ab` line per input j (each outcome at A with input j from B).
pub fn write_sample(sample: &SampleResult) -> String {
    let mut out = String::new();
    floats_line(&mut out, "values", &sample.values);
    write_masses(&mut out, &sample.masses);
    floats_line(&mut out, "b", &sample.b);
    for ab in &sample.ab {
        floats_line(&mut out, "ab", ab);
    }
    out
}

/// Reads sample `index` of `model` as [`write_sample`] writes it.
pub fn read_sample(
    lines: &mut Lines<'_>,
    model: &Model,
    index: u64,
) -> Result<SampleResult, String> {
    let (d, outcomes) = (model.uncertain().len(), model.outcomes().len());
    Ok(SampleResult {
        index,
        values: lines.floats("values", d)?,
        masses: read_masses(lines, model)?,
        b: lines.floats("b", outcomes)?,
        ab: (0..d)
            .map(|_| lines.floats("ab", outcomes))
            .collect::<Result<_, _>>()?,
    })
}

/// The definition of a sweep: `axis <key> <value> ...` per axis, in order.
pub fn sweep_definition(axes: &[Axis]) -> String {
    let mut out = String::new();
    for axis in axes {
        floats_line(
            &mut out,
            &format!("axis {}", axis.parameter.key),
            &axis.values,
        );
    }
    out
}

/// Reads the axes of a sweep of `model`, checking each value.
pub fn read_sweep_definition(of: &UnitsOf, model: &Model) -> Result<Vec<Axis>, String> {
    let mut lines = Lines::at(&of.definition, of.definition_line);
    let mut axes = Vec::new();
    while lines.peek() == Some("axis") {
        let (key, values) = lines.keyed_floats("axis")?;
        let parameter = parameters::find(model, key).map_err(|e| lines.error(e.0))?;
        for &value in &values {
            parameters::check_value(&parameter, value).map_err(|e| lines.error(e.0))?;
        }
        axes.push(Axis { parameter, values });
    }
    lines.end()?;
    if axes.is_empty() || axes.len() > sweep::MAX_AXES {
        return Err(format!(
            "line {}: expected 1 to {} 'axis' lines",
            of.definition_line,
            sweep::MAX_AXES
        ));
    }
    Ok(axes)
}

/// The definition of a sensitivity analysis: `events yes|no` (whether events are reported),
/// `varied <key> <low> <high>` per parameter in order, then `base` and the base model's
/// result (the same in every shard: each evaluates it).
pub fn sensitivity_definition(
    model: &Model,
    plan: &[Varied],
    events: bool,
    base: &Evaluated,
) -> String {
    let mut out = format!("events {}\n", if events { "yes" } else { "no" });
    for varied in plan {
        let key = format!("varied {}", varied.parameter.key);
        floats_line(&mut out, &key, &[varied.low, varied.high]);
    }
    out.push_str("base\n");
    write_evaluated(&mut out, model, base);
    out
}

/// What a sensitivity analysis's definition holds: its parameters, whether events are
/// reported, and the base model's result.
pub struct SensitivityDefinition {
    pub plan: Vec<Varied>,
    pub events: bool,
    pub base: Evaluated,
}

/// Reads the definition of a sensitivity analysis of `model`, checking each value.
pub fn read_sensitivity_definition(
    of: &UnitsOf,
    model: &Model,
) -> Result<SensitivityDefinition, String> {
    let mut lines = Lines::at(&of.definition, of.definition_line);
    let events = match lines.value("events")? {
        "yes" => true,
        "no" => false,
        other => return Err(lines.error(format!("events '{other}' is not yes or no"))),
    };
    let mut plan = Vec::new();
    while lines.peek() == Some("varied") {
        let (key, values) = lines.keyed_floats("varied")?;
        let parameter = parameters::find(model, key).map_err(|e| lines.error(e.0))?;
        let [low, high] = values[..] else {
            return Err(lines.error("expected 'varied <key> <low> <high>'"));
        };
        for value in [low, high] {
            parameters::check_value(&parameter, value).map_err(|e| lines.error(e.0))?;
        }
        plan.push(Varied {
            parameter,
            low,
            high,
        });
    }
    if lines.next("base")? != ["base"] {
        return Err(lines.error("expected 'base'"));
    }
    let base = read_evaluated(&mut lines, model, of.used)?;
    lines.end()?;
    Ok(SensitivityDefinition { plan, events, base })
}

/// The lines of one parameter of a sensitivity analysis: `low` and the result at its low
/// value, `high` and the result at its high value, and for Monte Carlo the pairs of paths
/// (`pairs both|reference_only|variant_only <count per outcome, then per event>`, the low
/// value being the reference).
pub fn write_swung(model: &Model, varied: &Varied, swung: &Swung) -> anyhow::Result<String> {
    let [low_model, high_model] = sensitivity::variants(model, varied)?;
    let mut out = "low\n".to_string();
    write_evaluated(&mut out, &low_model, &swung.low);
    out.push_str("high\n");
    write_evaluated(&mut out, &high_model, &swung.high);
    if let Some(pairs) = &swung.pairs {
        counts_line(&mut out, "pairs", "both", &pairs.both);
        counts_line(&mut out, "pairs", "reference_only", &pairs.reference_only);
        counts_line(&mut out, "pairs", "variant_only", &pairs.variant_only);
    }
    Ok(out)
}

/// Reads one parameter of a sensitivity analysis of `model` as [`write_swung`] writes it.
pub fn read_swung(
    lines: &mut Lines<'_>,
    model: &Model,
    varied: &Varied,
    used: Used,
) -> Result<Swung, String> {
    let [low_model, high_model] =
        sensitivity::variants(model, varied).map_err(|e| lines.error(e))?;
    let mut result = |name: &str, model: &Model| {
        if lines.next(name)? != [name] {
            return Err(lines.error(format!("expected '{name}'")));
        }
        read_evaluated(lines, model, used)
    };
    let low = result("low", &low_model)?;
    let high = result("high", &high_model)?;
    let pairs = match used {
        Used::Exact => None,
        Used::MonteCarlo { paths, .. } => {
            let items = shared_items(&low_model, &high_model);
            let mut counts = |name: &str| lines.counts("pairs", name, items.len());
            let pairs = PairCounts {
                both: counts("both")?,
                reference_only: counts("reference_only")?,
                variant_only: counts("variant_only")?,
                items,
            };
            // Each path is counted at most once per item.
            let possible = (0..pairs.items.len()).all(|i| {
                [
                    pairs.both[i],
                    pairs.reference_only[i],
                    pairs.variant_only[i],
                ]
                .iter()
                .try_fold(0u64, |a, &b| a.checked_add(b))
                .is_some_and(|sum| sum <= paths)
            });
            if !possible {
                return Err(lines.error("the pairs count more paths than were run"));
            }
            Some(pairs)
        }
    };
    Ok(Swung { low, high, pairs })
}
