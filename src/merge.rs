//! `pathcast merge`: the shard folders of one job, added up into the output folder that one
//! unsharded run of the job writes. A shard holds a range of the job's units (see
//! [`crate::shard::Unit`]): the paths of a run, whose integer counts add up (`tally.txt`), or
//! the samples of a run with uncertain inputs, the grid points of a sweep or the parameters of
//! a sensitivity analysis, whose exact per-unit results (`units.txt`) are folded in unit order
//! by the same code as one run's. Either way the tables are byte-identical to that run's.
//!
//! Every check is made before anything is written: shards that do not make exactly one whole
//! job leave the file system as it was.

use crate::analysis::{sensitivity, sweep, Evaluated, Used};
use crate::error::ShardError;
use crate::export::manifest::{self, sha256_hex, SCENARIO_FILE, SCENARIO_HEADER};
use crate::export::sealed::Lines;
use crate::export::units_file::{self, UnitsOf};
use crate::export::{self as files, tally_file, Manifest, OutputSet};
use crate::job::{self, RunSettings};
use crate::output;
use crate::report::Report;
use crate::scenario::{self, Loaded};
use crate::shard::{array_list, MergedShard, ShardOfRun, Unit};
use crate::simulate::Tally;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct MergeSettings {
    /// The shard folders, in any order.
    pub folders: Vec<PathBuf>,
    /// Output folder [default: where one run of the job would have written].
    pub out: Option<PathBuf>,
    pub force: bool,
    /// The command line, recorded in the manifest.
    pub command: String,
}

pub struct Merged {
    /// What the command of one run prints: its summary of the merged results.
    pub summary: String,
    pub written: job::Written,
    /// Shards added up (duplicates counted once).
    pub shards: usize,
    /// Folders that repeated a shard already given, with the folder they repeat.
    pub duplicates: Vec<(PathBuf, PathBuf)>,
}

/// A shard folder as read from disk, checked against itself.
struct ShardFolder {
    folder: PathBuf,
    manifest: Manifest,
    shard: ShardOfRun,
    seed: u64,
    /// The resolved scenario of `scenario.toml`, without its header line.
    resolved: String,
}

fn refuse(folder: &Path, message: impl std::fmt::Display) -> ShardError {
    ShardError(format!("{}: {message}", folder.display()))
}

fn read_text(folder: &Path, name: &str) -> Result<String, ShardError> {
    std::fs::read_to_string(folder.join(name)).map_err(|e| {
        refuse(
            folder,
            format!("cannot read {name} ({e}); is it a shard folder (written with --shard)?"),
        )
    })
}

/// An error in the data file `name` of `folder`.
fn in_file(folder: &Path, name: &str, message: impl std::fmt::Display) -> ShardError {
    ShardError(format!("{}: {message}", folder.join(name).display()))
}

fn read_folder(folder: &Path) -> Result<ShardFolder, ShardError> {
    let text = read_text(folder, manifest::FILE_NAME)?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| {
        refuse(
            folder,
            format!("{} is not a pathcast manifest: {e}", manifest::FILE_NAME),
        )
    })?;
    let not_a_shard = || {
        refuse(
            folder,
            "is not a shard folder: its manifest.toml has no [shard] table and seed (shards \
             are written by pathcast run, exact, sweep or sensitivity with --shard I/K)",
        )
    };
    let shard = manifest.shard.clone().ok_or_else(not_a_shard)?;
    let seed = manifest.seed.ok_or_else(not_a_shard)?;
    // A path shard's manifest also names its paths as a run's does.
    let paths_agree = shard.unit != Unit::Paths
        || (manifest.first_path == Some(shard.first)
            && manifest.paths == Some(shard.end - shard.first));
    if !shard.consistent() || !paths_agree {
        return Err(refuse(
            folder,
            format!(
                "the range in manifest.toml is not that of its shard I/K of the {} (was it \
                 edited?)",
                shard.unit.name()
            ),
        ));
    }
    let scenario_text = read_text(folder, SCENARIO_FILE)?;
    let resolved = scenario_text
        .strip_prefix(SCENARIO_HEADER)
        .filter(|r| sha256_hex(r) == manifest.scenario_sha256)
        .ok_or_else(|| {
            refuse(
                folder,
                "scenario.toml does not match the scenario_sha256 of manifest.toml (was it \
                 changed after the run?)",
            )
        })?
        .to_string();
    Ok(ShardFolder {
        folder: folder.to_path_buf(),
        manifest,
        shard,
        seed,
        resolved,
    })
}

/// Refuses `b` when `key` differs between the shards `a` and `b`.
fn agree(
    a: &ShardFolder,
    b: &ShardFolder,
    what: &str,
    key: impl Fn(&ShardFolder) -> String,
) -> Result<(), ShardError> {
    let (ka, kb) = (key(a), key(b));
    if ka == kb {
        return Ok(());
    }
    Err(refuse(
        &b.folder,
        format!(
            "its {what} ({kb}) differs from that of {} ({ka}); the shards of one run share the \
             pathcast version, command, scenario, seed and number of {}",
            a.folder.display(),
            a.shard.unit.name()
        ),
    ))
}

/// Reads, checks and adds up the shard folders, then writes the merged output folder.
pub fn merge(settings: &MergeSettings) -> anyhow::Result<Merged> {
    let folders = settings
        .folders
        .iter()
        .map(|f| read_folder(f))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = folders.first() else {
        return Err(ShardError("merge: name at least one shard folder".to_string()).into());
    };
    let this_version = env!("CARGO_PKG_VERSION");
    if first.manifest.pathcast_version != this_version {
        return Err(refuse(
            &first.folder,
            format!(
                "written by pathcast {}, and this is pathcast {this_version}; merge with the \
                 version that ran the shards, so that the tables are that version's",
                first.manifest.pathcast_version
            ),
        )
        .into());
    }
    for other in &folders[1..] {
        agree(first, other, "pathcast version", |s| {
            s.manifest.pathcast_version.clone()
        })?;
        agree(first, other, "unit of sharding", |s| {
            s.shard.unit.name().to_string()
        })?;
        agree(first, other, "command (method in manifest.toml)", |s| {
            s.manifest.method.clone()
        })?;
        agree(first, other, "scenario (scenario_sha256)", |s| {
            s.manifest.scenario_sha256.clone()
        })?;
        agree(first, other, "seed", |s| s.seed.to_string())?;
        let total = format!("number of {} of the whole run", first.shard.unit.name());
        agree(first, other, &total, |s| s.shard.total.to_string())?;
    }

    // The scenario as the shards ran it. Loading the resolved text gives the model; the text
    // itself is written back unchanged, so that scenario.toml is that of one run too.
    let scenario_path = first.folder.join(SCENARIO_FILE);
    let mut loaded = scenario::load(&scenario_path.display().to_string(), &[])?;
    loaded.resolved = first.resolved.clone();
    loaded.files = first.manifest.scenario_files.clone();
    // A variant's shards name their `--set` overrides: the merge goes where one run of it would.
    loaded.overrides = first.manifest.overrides.clone();

    if first.shard.unit == Unit::Paths {
        merge_paths(settings, folders, loaded)
    } else {
        merge_units(settings, folders, loaded)
    }
}

/// The shards that tile [0, total), sorted, with each repeated shard (the same range and the
/// same `content`) dropped and listed; refuses overlapping, conflicting or missing ranges.
/// `C` is what the data of a shard is compared by.
#[allow(clippy::type_complexity)]
fn tile<C: PartialEq>(
    mut shards: Vec<(ShardFolder, C)>,
    command: &str,
) -> Result<(Vec<(ShardFolder, C)>, Vec<(PathBuf, PathBuf)>), ShardError> {
    shards.sort_by_key(|(s, _)| (s.shard.first, s.shard.end));
    let unit = shards[0].0.shard.unit.name();
    let results = if unit == "paths" { "counts" } else { "results" };
    // Identical shards (a retried or duplicated task) count once; different data for the
    // same units, or shards that overlap, mean something is wrong with one of them.
    let mut duplicates = Vec::new();
    let mut unique: Vec<(ShardFolder, C)> = Vec::new();
    for (folder, content) in shards {
        if let Some((kept, kept_content)) = unique.last() {
            let same_range = kept.shard.range() == folder.shard.range();
            if same_range && *kept_content == content {
                duplicates.push((folder.folder, kept.folder.clone()));
                continue;
            }
            if folder.shard.first < kept.shard.end {
                let conflict = if same_range {
                    format!("holds the same {unit} with different {results}")
                } else {
                    "overlaps".to_string()
                };
                return Err(refuse(
                    &folder.folder,
                    format!(
                        "{unit} [{}, {}) {conflict} {} ({unit} [{}, {})); nothing was written",
                        folder.shard.first,
                        folder.shard.end,
                        kept.folder.display(),
                        kept.shard.first,
                        kept.shard.end
                    ),
                ));
            }
        }
        unique.push((folder, content));
    }

    let total = unique[0].0.shard.total;
    let mut gaps = Vec::new();
    let mut covered = 0;
    for (folder, _) in &unique {
        if folder.shard.first > covered {
            gaps.push((covered, folder.shard.first));
        }
        covered = folder.shard.end;
    }
    if covered < total {
        gaps.push((covered, total));
    }
    if !gaps.is_empty() {
        let shards: Vec<&ShardOfRun> = unique.iter().map(|(s, _)| &s.shard).collect();
        return Err(ShardError(missing_message(&shards, &gaps, command)));
    }
    Ok((unique, duplicates))
}

/// Where the shards leave units of [0, total) uncovered: the message for the user.
/// `command` is the pathcast command that runs a shard.
fn missing_message(shards: &[&ShardOfRun], gaps: &[(u64, u64)], command: &str) -> String {
    let (unit, total, count) = (shards[0].unit, shards[0].total, shards[0].count);
    let ranges: Vec<String> = gaps.iter().map(|(a, b)| format!("[{a}, {b})")).collect();
    let mut message = format!(
        "the shards do not cover the {} {} of [0, {total}); nothing was written",
        unit.name(),
        ranges.join(", ")
    );
    if shards.iter().all(|s| s.count == count) {
        let missing: Vec<u64> = (0..count)
            .filter(|&i| !shards.iter().any(|s| s.index == i))
            .collect();
        let list = array_list(&missing);
        // deploy/slurm/shards.sbatch runs `pathcast run`, or the analysis PATHCAST_COMMAND
        // names; `exact` takes no --paths, which the script passes.
        let script = match command {
            "run" => Some(String::new()),
            "sweep" | "sensitivity" => Some(format!("PATHCAST_COMMAND={command} ")),
            _ => None,
        };
        let example = match script {
            Some(variable) => format!(
                "`{variable}PATHCAST_SHARDS={count} sbatch --array={list} \
                 deploy/slurm/shards.sbatch ...` or "
            ),
            None => String::new(),
        };
        message.push_str(&format!(
            ". Missing shards of {count}: {list}; run them (with the shards' flags), e.g. \
             {example}`pathcast {command} ... --shard I/{count}`, and merge again"
        ));
    }
    message
}

/// The listing of the merged shards in the merged folder's manifest.
fn merged_shards<C>(unique: &[(ShardFolder, C)]) -> Vec<MergedShard> {
    unique
        .iter()
        .map(|(s, _)| MergedShard {
            folder: s.folder.display().to_string(),
            index: s.shard.index,
            count: s.shard.count,
            first: s.shard.first,
            end: s.shard.end,
        })
        .collect()
}

/// The shard folders are inputs: refuses an output folder that is one of them (even with
/// --force), and returns their scenario files, which no output may replace.
fn protect_shards(settings: &MergeSettings, out: &Path) -> Result<Vec<PathBuf>, ShardError> {
    let protected: Vec<PathBuf> = settings
        .folders
        .iter()
        .filter_map(|f| std::fs::canonicalize(f.join(SCENARIO_FILE)).ok())
        .collect();
    if let Ok(out_canonical) = std::fs::canonicalize(out) {
        if protected.iter().any(|p| p.parent() == Some(&out_canonical)) {
            return Err(ShardError(format!(
                "--out {}: is one of the shard folders being merged; give the merged results \
                 a folder of their own",
                out.display()
            )));
        }
    }
    Ok(protected)
}

/// Merges shards of paths: their tallies add up.
fn merge_paths(
    settings: &MergeSettings,
    folders: Vec<ShardFolder>,
    loaded: Loaded,
) -> anyhow::Result<Merged> {
    let model = &loaded.model;
    let mut shards = Vec::with_capacity(folders.len());
    for folder in folders {
        let text = read_text(&folder.folder, tally_file::FILE_NAME)?;
        let (of, tally) = tally_file::read(model, &text)
            .map_err(|e| in_file(&folder.folder, tally_file::FILE_NAME, e))?;
        let expected = tally_file::TallyOf {
            scenario_sha256: folder.manifest.scenario_sha256.clone(),
            seed: folder.seed,
            first_path: folder.shard.first,
            paths: folder.shard.end - folder.shard.first,
        };
        if of != expected {
            return Err(in_file(
                &folder.folder,
                tally_file::FILE_NAME,
                "its scenario, seed or path range differs from manifest.toml's",
            )
            .into());
        }
        shards.push((folder, tally));
    }
    let (unique, duplicates) = tile(shards, "run")?;

    let mut sum = Tally::new(model);
    for (_, tally) in &unique {
        sum.merge(tally);
    }
    let seed = unique[0].0.seed;
    let total = unique[0].0.shard.total;
    let report = Report::from_tally(model, &sum, seed, 0);

    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| job::default_out(&loaded, ""));
    let protected = protect_shards(settings, &out)?;
    let set = OutputSet::new(
        &out,
        model.id(),
        job::MONTE_CARLO,
        settings.force,
        &protected,
    )?;
    let run_settings = RunSettings {
        command: settings.command.clone(),
        ..RunSettings::default()
    };
    let mut manifest = job::manifest(&loaded, &run_settings, job::MONTE_CARLO);
    manifest.seed = Some(seed);
    manifest.first_path = Some(0);
    manifest.paths = Some(total);
    manifest.merged_shards = merged_shards(&unique);
    let committed = job::write_outputs(&loaded, &report, set, manifest)?;
    Ok(Merged {
        summary: output::summary::render(&loaded, &report),
        written: job::Written {
            out,
            replaced_earlier: committed.replaced_earlier,
        },
        shards: unique.len(),
        duplicates,
    })
}

/// A job whose shards hold units: what its units are, read from the first shard's
/// definition.
enum Job {
    /// A run with uncertain inputs; `exact_command` for `pathcast exact`.
    Uncertain {
        exact_command: bool,
    },
    Sweep {
        axes: Vec<sweep::Axis>,
    },
    Sensitivity(Box<units_file::SensitivityDefinition>),
}

/// One unit's result.
enum UnitResult {
    Sample(crate::uncertainty::SampleResult),
    Point(Evaluated),
    Parameter(Box<sensitivity::Swung>),
}

impl Job {
    /// The job `of` defines, refused when its command, units or definition do not fit the
    /// scenario.
    fn read(of: &UnitsOf, model: &crate::Model) -> Result<Job, String> {
        let (job, total) = match (of.command.as_str(), of.unit) {
            ("run" | "exact", Unit::Samples) => {
                units_file::read_uncertain_definition(of, model)?;
                let exact_command = of.command == "exact";
                (Job::Uncertain { exact_command }, of.total)
            }
            ("sweep", Unit::Points) => {
                let axes = units_file::read_sweep_definition(of, model)?;
                let points = sweep::points(&axes) as u64;
                (Job::Sweep { axes }, points)
            }
            ("sensitivity", Unit::Parameters) => {
                let definition = units_file::read_sensitivity_definition(of, model)?;
                let parameters = definition.plan.len() as u64;
                (Job::Sensitivity(Box::new(definition)), parameters)
            }
            (command, unit) => {
                return Err(format!(
                    "a shard of {command} does not hold {}",
                    unit.name()
                ))
            }
        };
        if total != of.total {
            return Err(format!(
                "its definition makes {total} {}, not the {} of its 'units' line",
                of.unit.name(),
                of.total
            ));
        }
        Ok(job)
    }

    /// Reads unit `index` from `lines`, checking what can be checked against the job.
    fn unit(
        &self,
        lines: &mut Lines<'_>,
        of: &UnitsOf,
        model: &crate::Model,
        index: u64,
    ) -> Result<UnitResult, String> {
        units_file::next_unit(lines, index)?;
        let at = usize::try_from(index).map_err(|e| lines.error(e))?;
        match self {
            Job::Uncertain { .. } => {
                let sample = units_file::read_sample(lines, model, index)?;
                // The inputs come from the seed's stream: another seed's samples are refused.
                let drawn = crate::uncertainty::point_a(model, of.seed, index);
                let same = drawn
                    .iter()
                    .zip(&sample.values)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                if !same {
                    return Err(lines.error(format!(
                        "the inputs of sample {index} are not those the seed draws"
                    )));
                }
                Ok(UnitResult::Sample(sample))
            }
            Job::Sweep { axes } => {
                let point = sweep::point_model(model, axes, at).map_err(|e| lines.error(e))?;
                units_file::read_evaluated(lines, &point, of.used).map(UnitResult::Point)
            }
            Job::Sensitivity(definition) => {
                let varied = definition
                    .plan
                    .get(at)
                    .ok_or_else(|| lines.error("a unit beyond the parameters"))?;
                units_file::read_swung(lines, model, varied, of.used)
                    .map(|s| UnitResult::Parameter(Box::new(s)))
            }
        }
    }

    fn command(&self) -> &'static str {
        match self {
            Job::Uncertain {
                exact_command: true,
            } => "exact",
            Job::Uncertain { .. } => "run",
            Job::Sweep { .. } => "sweep",
            Job::Sensitivity(_) => "sensitivity",
        }
    }
}

/// Writes the merged folder of an analysis, as one run of it would: returns whether it
/// replaced an earlier one.
fn write_merged_analysis(
    loaded: &Loaded,
    settings: &RunSettings,
    job: &Job,
    used: Used,
    merged_shards: Vec<MergedShard>,
    tables: Vec<(&str, Result<Vec<u8>, ::csv::Error>)>,
) -> anyhow::Result<bool> {
    let what = job::AnalysisOutput {
        analysis: job.command(),
        used,
        threads: 1,
        merged_shards,
    };
    let written = job::write_analysis(&[("", loaded)], settings, &what, tables)?;
    Ok(written.replaced_earlier)
}

/// The first line where two definitions differ, by its first word.
fn first_difference(a: &str, b: &str) -> String {
    let mut pairs = a.lines().zip(b.lines());
    match pairs.find(|(x, y)| x != y) {
        Some((x, _)) => format!("'{}' line", x.split(' ').next().unwrap_or("")),
        None => "number of lines".to_string(),
    }
}

/// The header of the units file of `folder`, and the job it defines.
fn read_job(folder: &ShardFolder, model: &crate::Model) -> Result<(UnitsOf, Job), ShardError> {
    let name = units_file::FILE_NAME;
    let text = read_text(&folder.folder, name)?;
    let error = |e: String| in_file(&folder.folder, name, e);
    let (of, _) = units_file::read(&text).map_err(error)?;
    let job = Job::read(&of, model).map_err(error)?;
    Ok((of, job))
}

/// Reads the units file of `folder`, checks its header against the manifest and against
/// `first`'s (the header of the job's first shard, in the folder given), and passes each of
/// its units to `each`. Returns the file's checksum line, which identifies its contents.
fn read_units(
    folder: &ShardFolder,
    model: &crate::Model,
    job: &Job,
    first: (&Path, &UnitsOf),
    mut each: impl FnMut(UnitResult) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let name = units_file::FILE_NAME;
    let text = read_text(&folder.folder, name)?;
    let error = |e: String| in_file(&folder.folder, name, e);
    let (of, mut lines) = units_file::read(&text).map_err(error)?;
    let shard = &folder.shard;
    let matches = of.scenario_sha256 == folder.manifest.scenario_sha256
        && of.seed == folder.seed
        && of.unit == shard.unit
        && (of.total, of.first, of.end) == (shard.total, shard.first, shard.end);
    if !matches {
        return Err(
            error("its scenario, seed or range differs from manifest.toml's".to_string()).into(),
        );
    }
    let (first_folder, first_of) = first;
    let differs = if (&first_of.command, first_of.used) != (&of.command, of.used) {
        Some("command, engine or paths".to_string())
    } else if first_of.definition != of.definition {
        Some(first_difference(&first_of.definition, &of.definition))
    } else {
        None
    };
    if let Some(what) = differs {
        return Err(error(format!(
            "its {what} differs from that of {}; the shards of one job share every setting \
             but --shard",
            first_folder.join(name).display()
        ))
        .into());
    }
    for index in of.first..of.end {
        each(job.unit(&mut lines, &of, model, index).map_err(error)?)?;
    }
    lines.end().map_err(error)?;
    Ok(text.lines().last().unwrap_or("").to_string())
}

/// Merges shards of units: every file is read and checked, then, once the shards are known
/// to make the whole job, read again in unit order and folded into its tables as one run
/// folds them. Only one shard's file is held at a time.
fn merge_units(
    settings: &MergeSettings,
    folders: Vec<ShardFolder>,
    loaded: Loaded,
) -> anyhow::Result<Merged> {
    let model = &loaded.model;
    let (first_of, job) = read_job(&folders[0], model)?;
    let first = (folders[0].folder.clone(), first_of);
    let first = (first.0.as_path(), &first.1);
    let mut shards = Vec::with_capacity(folders.len());
    for folder in folders {
        let checksum = read_units(&folder, model, &job, first, |_| Ok(()))?;
        shards.push((folder, checksum));
    }
    let (unique, duplicates) = tile(shards, job.command())?;
    let used = first.1.used;
    let seed = unique[0].0.seed;
    let total = unique[0].0.shard.total;

    // The output folder one run writes, checked before the units are read again.
    let out = settings.out.clone().unwrap_or_else(|| match &job {
        Job::Uncertain { exact_command } => job::uncertain_out(&loaded, *exact_command, ""),
        _ => job::default_out(&loaded, &format!("-{}", job.command())),
    });
    let run_settings = RunSettings {
        command: settings.command.clone(),
        out: Some(out.clone()),
        force: settings.force,
        ..RunSettings::default()
    };
    let protected = protect_shards(settings, &out)?;
    let merged_list = merged_shards(&unique);
    let each_unit = |consume: &mut dyn FnMut(UnitResult) -> anyhow::Result<()>| {
        for (folder, checksum) in &unique {
            let again = read_units(folder, model, &job, first, &mut *consume)?;
            if &again != checksum {
                return Err(anyhow::Error::from(in_file(
                    &folder.folder,
                    units_file::FILE_NAME,
                    "changed while it was being merged",
                )));
            }
        }
        Ok(())
    };
    let (summary, written) = match &job {
        Job::Uncertain { exact_command } => {
            let method = job::uncertain_method(*exact_command);
            let mut set = OutputSet::new(&out, model.id(), method, settings.force, &protected)?;
            let mut samples_file = job::SamplesFile::new(&set, model)?;
            let mut fold = crate::uncertainty::Fold::new(model, seed);
            each_unit(&mut |unit| {
                if let UnitResult::Sample(sample) = unit {
                    samples_file.write(&sample)?;
                    fold.add(&sample);
                }
                Ok(())
            })?;
            samples_file.finish(&mut set)?;
            let analysis = fold.finish(model)?;
            let mut manifest =
                job::uncertain_manifest(&loaded, &run_settings, *exact_command, seed, total, used);
            manifest.merged_shards = merged_list;
            let (report, committed) = job::write_uncertain(&loaded, set, manifest, &analysis)?;
            let summary = output::uncertainty::render(&loaded, &analysis, &report, used);
            (summary, committed.replaced_earlier)
        }
        Job::Sweep { axes } => {
            let mut points = Vec::new();
            each_unit(&mut |unit| {
                if let UnitResult::Point(point) = unit {
                    points.push(point);
                }
                Ok(())
            })?;
            let result = sweep::assemble(model, axes.clone(), &points, used)?;
            let tables = files::analysis::sweep_files(&loaded, &result);
            let replaced =
                write_merged_analysis(&loaded, &run_settings, &job, used, merged_list, tables)?;
            (output::analysis::sweep(&result, model), replaced)
        }
        Job::Sensitivity(definition) => {
            let mut swung = Vec::new();
            each_unit(&mut |unit| {
                if let UnitResult::Parameter(parameter) = unit {
                    swung.push(*parameter);
                }
                Ok(())
            })?;
            let result = sensitivity::assemble(
                model,
                &definition.plan,
                definition.events,
                &definition.base,
                &swung,
                used,
            )?;
            let tables = files::analysis::sensitivity_files(&loaded, &result);
            let replaced =
                write_merged_analysis(&loaded, &run_settings, &job, used, merged_list, tables)?;
            let outcome = &model.outcomes()[0].id;
            (output::analysis::tornado(&result, outcome), replaced)
        }
    };
    Ok(Merged {
        summary,
        written: job::Written {
            out,
            replaced_earlier: written,
        },
        shards: unique.len(),
        duplicates,
    })
}
