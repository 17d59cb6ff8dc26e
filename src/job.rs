//! A whole `pathcast run` or `pathcast exact`: simulate or solve, then write the output folder.

use crate::analysis::{Evaluator, MethodChoice, MonteCarlo, Used};
use crate::error::{OutputError, SettingError};
use crate::exact;
use crate::export::{self, csv as tables, units_file, Committed, Manifest, OutputSet};
use crate::report::Report;
use crate::scenario::Loaded;
use crate::simulate::{self, RunError, RunOptions, Tally, Wave};
use anyhow::Context;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// How to run a scenario; `None` values fall back to the scenario's own settings.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    pub paths: Option<u64>,
    pub seed: Option<u64>,
    pub first_path: u64,
    pub threads: Option<usize>,
    pub out: Option<PathBuf>,
    pub paths_csv: bool,
    /// Write into an output folder that holds other files or another scenario's results.
    pub force: bool,
    /// The command line, recorded in the manifest.
    pub command: String,
    /// Run until every outcome's 95% interval is at most this wide on each side.
    pub precision: Option<f64>,
    /// With `precision`: stop at this many paths even if the precision is not reached.
    pub max_paths: Option<u64>,
    /// For a shard (`--shard`, set by `shard::plan`): also write its tally file.
    pub shard: Option<crate::shard::ShardOfRun>,
}

/// Paths at the first checkpoint of a run to a precision; each later checkpoint doubles it.
/// Fixed, so that where a run stops does not depend on threads or machine.
pub const FIRST_CHECKPOINT: u64 = 100_000;
/// The default `--max-paths` of a run to a precision.
pub const DEFAULT_MAX_PATHS: u64 = 1_000_000_000;

/// How a run to a precision ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionStop {
    pub target: f64,
    /// The widest half-width of an outcome's 95% interval at the end.
    pub widest: f64,
    pub reached: bool,
}

pub(crate) const MONTE_CARLO: &str = "monte-carlo";
const EXACT: &str = "exact";

/// The run was stopped by a signal; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: stopped before the end of the run; no output was written")]
pub struct Interrupted;

/// Where results were written.
pub struct Written {
    pub out: PathBuf,
    /// The output folder held an earlier run, which this one replaced.
    pub replaced_earlier: bool,
}

pub struct Finished {
    pub report: Report,
    /// What the user should know about how the run went (e.g. fewer threads than asked).
    pub notes: Vec<String>,
    pub written: Written,
    pub threads: usize,
    /// Paths simulated (Monte Carlo).
    pub paths: u64,
    pub precision: Option<PrecisionStop>,
}

/// The files the scenario was read from, canonical: no output may replace or hold them.
pub fn protected(loaded: &Loaded) -> Vec<PathBuf> {
    loaded
        .files
        .iter()
        .filter_map(|f| std::fs::canonicalize(f).ok())
        .collect()
}

/// Opens the output folder for a run, refusing folders that hold the scenario's own files.
fn open_output(
    loaded: &Loaded,
    out: &Path,
    method: &str,
    settings: &RunSettings,
) -> Result<OutputSet, OutputError> {
    OutputSet::new(
        out,
        loaded.model.id(),
        method,
        settings.force,
        &protected(loaded),
    )
}

/// The folder a scenario's results go to when `--out` is not given: `output/<id><suffix>`, and
/// for a variant made with `--set`, `output/<id>+<overrides><suffix>`, so that a variant never
/// replaces the results of the scenario as written.
pub fn default_out(loaded: &Loaded, suffix: &str) -> PathBuf {
    Path::new("output").join(format!("{}{suffix}", variant_name(loaded)))
}

/// The scenario's id, followed for a variant by its overrides (`baseline+events.meeting.p=0.02`)
/// or, when those do not make a short, plain folder name, by a hash of them.
pub fn variant_name(loaded: &Loaded) -> String {
    const MAX_READABLE: usize = 100;
    let id = loaded.model.id();
    if loaded.overrides.is_empty() {
        return id.to_string();
    }
    let compact: Vec<String> = loaded
        .overrides
        .iter()
        .map(|set| set.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect();
    let readable = compact.join("+");
    let plain = readable
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._=+-".contains(c));
    if plain && readable.len() <= MAX_READABLE {
        format!("{id}+{readable}")
    } else {
        let hash = export::manifest::sha256_hex(&compact.join("\n"));
        format!("{id}+{}", &hash[..12])
    }
}

/// The worker threads of a run, `requested` or one per core, but no more than fit
/// [`simulate::THREADS_MEMORY`] when each holds `per_thread` bytes; with a note when fewer.
pub fn worker_pool(
    requested: Option<usize>,
    per_thread: usize,
) -> anyhow::Result<(rayon::ThreadPool, Option<String>)> {
    let requested = threads(requested);
    let fit = (simulate::THREADS_MEMORY / per_thread.max(1)).max(1);
    let threads = requested.min(fit);
    let note = (threads < requested).then(|| {
        format!(
            "using {threads} threads, not {requested}: each thread of this scenario needs up \
             to {:.0} MiB, and a run keeps its threads within {} MiB (the numbers do not depend \
             on the thread count)",
            per_thread as f64 / f64::from(1 << 20),
            simulate::THREADS_MEMORY >> 20
        )
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    Ok((pool, note))
}

pub fn threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs the Monte Carlo simulation and writes its output folder. `progress` is called with
/// the number of paths done after each wave.
pub fn run(
    loaded: &Loaded,
    settings: &RunSettings,
    cancel: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Finished> {
    let model = &loaded.model;
    let paths = settings.paths.unwrap_or(model.paths());
    let mut options = RunOptions {
        first_path: settings.first_path,
        paths: settings.precision.map_or(paths, |_| {
            FIRST_CHECKPOINT.min(settings.max_paths.unwrap_or(DEFAULT_MAX_PATHS))
        }),
        seed: settings.seed.unwrap_or(model.seed()),
        keep_records: settings.paths_csv,
    };
    let last_path = options.first_path.checked_add(match settings.precision {
        Some(_) => settings.max_paths.unwrap_or(DEFAULT_MAX_PATHS),
        None => paths,
    });
    if paths == 0 || last_path.is_none_or(|end| end > i64::MAX as u64) {
        return Err(SettingError(format!(
            "--paths {paths} from --first-path {}: a run needs at least one path, and path \
             indices stay below 2^63 so that every count fits its counter",
            options.first_path
        ))
        .into());
    }
    if let Some(target) = settings.precision {
        if !(target > 0.0 && target < 0.5) {
            return Err(SettingError(format!(
                "--precision {target}: give the half-width of the 95% interval to reach, \
                 between 0 and 0.5 (e.g. 0.001)"
            ))
            .into());
        }
    }
    let mut notes = Vec::new();
    let per_thread = simulate::bytes_per_thread(model, options.keep_records);
    let (pool, note) = worker_pool(settings.threads, per_thread)?;
    notes.extend(note);
    let threads = pool.current_num_threads();
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| default_out(loaded, ""));
    let mut set = open_output(loaded, &out, MONTE_CARLO, settings)?;

    let mut paths_writer = None;
    if settings.paths_csv {
        let file = set.temporary(tables::PATHS)?;
        let writer = tables::PathsWriter::new(model, BufWriter::new(file))
            .map_err(|e| csv_error(&out, tables::PATHS, e))?;
        paths_writer = Some(writer);
    }
    let mut tally = Tally::new(model);
    let mut precision = None;
    loop {
        let done = tally.paths;
        let result = simulate::run(model, &options, &pool, cancel, |wave: Wave<'_>| {
            if let Some(writer) = paths_writer.as_mut() {
                for record in wave.records {
                    writer
                        .write(model, record)
                        .map_err(|e| csv_error(&out, tables::PATHS, e))?;
                }
            }
            progress(done + wave.paths_done);
            Ok::<(), OutputError>(())
        });
        match result {
            Ok(part) => tally.merge(&part),
            Err(RunError::Cancelled) => return Err(Interrupted.into()),
            Err(RunError::Caller(e)) => return Err(e.into()),
        }
        let Some(target) = settings.precision else {
            break;
        };
        let widest = widest_half_width(&tally);
        let max = settings.max_paths.unwrap_or(DEFAULT_MAX_PATHS);
        let reached = widest <= target;
        if reached || tally.paths >= max {
            precision = Some(PrecisionStop {
                target,
                widest,
                reached,
            });
            break;
        }
        // The next checkpoint doubles the paths so far.
        options.first_path += options.paths;
        options.paths = tally.paths.min(max - tally.paths);
    }
    let options = RunOptions {
        first_path: settings.first_path,
        paths: tally.paths,
        ..options
    };
    if let Some(writer) = paths_writer {
        let buffered = writer
            .finish()
            .map_err(|e| csv_error(&out, tables::PATHS, e))?;
        let file = buffered.into_inner().map_err(|e| OutputError::Io {
            path: out.join(tables::PATHS),
            source: e.into_error(),
        })?;
        set.add(tables::PATHS, file)?;
    }
    let report = Report::from_tally(model, &tally, options.seed, options.first_path);
    let mut manifest = manifest(loaded, settings, MONTE_CARLO);
    manifest.seed = Some(options.seed);
    manifest.first_path = Some(options.first_path);
    manifest.paths = Some(options.paths);
    manifest.threads = Some(threads);
    manifest.precision = settings.precision;
    manifest.max_paths = settings
        .precision
        .map(|_| settings.max_paths.unwrap_or(DEFAULT_MAX_PATHS));
    if let Some(shard) = &settings.shard {
        crate::shard::write_tally(&mut set, &mut manifest, model, &tally, shard)?;
    }
    let committed = write_outputs(loaded, &report, set, manifest)?;
    Ok(Finished {
        report,
        notes,
        written: Written {
            out,
            replaced_earlier: committed.replaced_earlier,
        },
        threads,
        paths: options.paths,
        precision,
    })
}

/// The widest half-width of the 95% interval of any outcome's probability.
fn widest_half_width(tally: &Tally) -> f64 {
    (0..tally.outcomes())
        .map(|o| {
            let count = tally.outcome_by_step(o).iter().sum();
            let (low, high) = crate::stats::wilson(count, tally.paths);
            (high - low) / 2.0
        })
        .fold(0.0, f64::max)
}

/// Solves the scenario exactly; a raised `cancel` stops it as an interruption.
pub fn solve(
    model: &crate::Model,
    limits: &exact::Limits,
    cancel: &AtomicBool,
) -> anyhow::Result<crate::report::ExactMasses> {
    match exact::solve_cancellable(model, limits, cancel) {
        Err(exact::ExactError::Cancelled) => Err(Interrupted.into()),
        result => Ok(result?),
    }
}

/// [`solve`] on `threads` worker threads (by default one per core; the numbers do not depend
/// on it).
pub fn solve_threaded(
    model: &crate::Model,
    limits: &exact::Limits,
    threads: Option<usize>,
    cancel: &AtomicBool,
) -> anyhow::Result<crate::report::ExactMasses> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(self::threads(threads))
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| solve(model, limits, cancel))
}

/// Solves the scenario exactly and writes its output folder (by default beside the Monte
/// Carlo one, as `<id>-exact`).
pub fn exact(
    loaded: &Loaded,
    settings: &RunSettings,
    limits: &exact::Limits,
    cancel: &AtomicBool,
) -> anyhow::Result<Finished> {
    let model = &loaded.model;
    let masses = solve_threaded(model, limits, settings.threads, cancel)?;
    let report = Report::from_exact(model, &masses);
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| default_out(loaded, "-exact"));
    let set = open_output(loaded, &out, EXACT, settings)?;
    let committed = write_outputs(loaded, &report, set, manifest(loaded, settings, EXACT))?;
    Ok(Finished {
        report,
        notes: Vec::new(),
        written: Written {
            out,
            replaced_earlier: committed.replaced_earlier,
        },
        threads: 1,
        paths: 0,
        precision: None,
    })
}

pub(crate) fn manifest(loaded: &Loaded, settings: &RunSettings, method: &str) -> Manifest {
    Manifest {
        pathcast_version: env!("CARGO_PKG_VERSION").to_string(),
        method: method.to_string(),
        command: settings.command.clone(),
        scenario: loaded.model.id().to_string(),
        scenario_files: loaded.files.clone(),
        scenario_sha256: export::manifest::sha256_hex(&loaded.resolved),
        overrides: loaded.overrides.clone(),
        seed: None,
        first_path: None,
        paths: None,
        threads: None,
        precision: None,
        max_paths: None,
        engine: None,
        samples: None,
        created: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        files: Vec::new(),
        shard: None,
        merged_shards: Vec::new(),
    }
}

fn csv_error(out: &Path, name: &str, source: ::csv::Error) -> OutputError {
    OutputError::Csv {
        path: out.join(name),
        source,
    }
}

pub(crate) fn write_outputs(
    loaded: &Loaded,
    report: &Report,
    set: OutputSet,
    manifest: Manifest,
) -> anyhow::Result<Committed> {
    write_outputs_with(loaded, report, set, manifest, Vec::new(), Vec::new())
}

/// As [`write_outputs`], with `more` tables after the usual ones and `sections` at the top of
/// the report.
fn write_outputs_with(
    loaded: &Loaded,
    report: &Report,
    set: OutputSet,
    manifest: Manifest,
    more: Vec<(&str, Result<Vec<u8>, ::csv::Error>)>,
    sections: Vec<(String, String)>,
) -> anyhow::Result<Committed> {
    use export::xlsx::{Sheet, SheetChart};
    let model = &loaded.model;
    type Table = fn(&crate::Model, &Report) -> Result<Vec<u8>, ::csv::Error>;
    let builders: [(&str, Table, SheetChart); 5] = [
        (tables::OUTCOMES, tables::outcomes, SheetChart::Bars),
        (tables::EVENTS, tables::events, SheetChart::Bars),
        (tables::TIMELINE, tables::timeline, SheetChart::Lines),
        (tables::CONDITIONAL, tables::conditional, SheetChart::None),
        (tables::LABELS, tables::labels, SheetChart::None),
    ];
    let mut built = Vec::new();
    for (name, build, _) in builders {
        let bytes = build(model, report).map_err(|e| csv_error(set.dir(), name, e))?;
        built.push((name, bytes));
    }
    let labels: Vec<(String, String)> = model
        .events()
        .iter()
        .map(|e| (e.id.clone(), e.label.clone()))
        .chain(
            model
                .outcomes()
                .iter()
                .map(|o| (o.id.clone(), o.label.clone())),
        )
        .collect();
    let sheets: Vec<Sheet<'_>> = built
        .iter()
        .zip(&builders)
        .map(|((name, bytes), (_, _, chart))| Sheet {
            name: name.trim_end_matches(".csv"),
            csv: bytes,
            chart: *chart,
            labels: &labels,
        })
        .collect();
    let workbook = export::xlsx::workbook(&sheets).map_err(|e| OutputError::Io {
        path: set.dir().join(export::xlsx::FILE),
        source: e,
    })?;
    built.push((export::xlsx::FILE, workbook));
    for (name, bytes) in more {
        built.push((name, bytes.map_err(|e| csv_error(set.dir(), name, e))?));
    }
    built.push((
        export::html::FILE,
        export::html::run(loaded, report, &sections),
    ));
    commit_tables(&[("", loaded)], built, set, manifest)
}

/// How to run a scenario with uncertain inputs, beyond [`RunSettings`].
pub struct UncertainSettings {
    /// Draws of the inputs.
    pub samples: u64,
    /// How each sample is computed: exact, Monte Carlo, or exact when the scenario solves.
    pub method: MethodChoice,
    pub limits: exact::Limits,
    /// `pathcast exact` (folder `<id>-exact`, method "exact") rather than `pathcast run`.
    pub exact_command: bool,
}

pub struct UncertainFinished {
    /// The analysis, and the average report the usual tables were written from (none for a
    /// shard, which writes no tables).
    pub analysis: Option<(crate::uncertainty::Analysis, Report)>,
    /// How each sample was computed.
    pub used: Used,
    pub written: Written,
    pub threads: usize,
}

/// `samples.csv`, streamed into an output set's staging folder as the samples come, so that
/// memory does not grow with them.
pub(crate) struct SamplesFile {
    writer: crate::export::uncertainty::SamplesWriter<BufWriter<tempfile::NamedTempFile>>,
    path: PathBuf,
}

impl SamplesFile {
    pub(crate) fn new(set: &OutputSet, model: &crate::Model) -> Result<SamplesFile, OutputError> {
        use crate::export::uncertainty::{SamplesWriter, SAMPLES};
        let path = set.dir().join(SAMPLES);
        let file = set.temporary(SAMPLES)?;
        let writer = SamplesWriter::new(model, BufWriter::new(file))
            .map_err(|e| csv_error(set.dir(), SAMPLES, e))?;
        Ok(SamplesFile { writer, path })
    }

    pub(crate) fn write(
        &mut self,
        sample: &crate::uncertainty::SampleResult,
    ) -> Result<(), OutputError> {
        let path = &self.path;
        self.writer
            .write(sample)
            .map_err(|source| OutputError::Csv {
                path: path.clone(),
                source,
            })
    }

    pub(crate) fn finish(self, set: &mut OutputSet) -> Result<(), OutputError> {
        let path = self.path;
        let buffered = self.writer.finish().map_err(|source| OutputError::Csv {
            path: path.clone(),
            source,
        })?;
        let file = buffered.into_inner().map_err(|e| OutputError::Io {
            path,
            source: e.into_error(),
        })?;
        set.add(crate::export::uncertainty::SAMPLES, file)
    }
}

/// The units file of a shard (`units.txt`), streamed into an output set's staging folder as
/// the units are computed.
pub(crate) struct UnitsFile {
    writer: units_file::UnitsWriter<BufWriter<tempfile::NamedTempFile>>,
    path: PathBuf,
}

impl UnitsFile {
    pub(crate) fn new(set: &OutputSet, of: &units_file::UnitsOf) -> Result<UnitsFile, OutputError> {
        let path = set.dir().join(units_file::FILE_NAME);
        let file = set.temporary(units_file::FILE_NAME)?;
        let writer = units_file::UnitsWriter::new(BufWriter::new(file), of).map_err(|source| {
            OutputError::Io {
                path: path.clone(),
                source,
            }
        })?;
        Ok(UnitsFile { writer, path })
    }

    pub(crate) fn unit(&mut self, index: u64, lines: &str) -> Result<(), OutputError> {
        let path = &self.path;
        self.writer
            .unit(index, lines)
            .map_err(|source| OutputError::Io {
                path: path.clone(),
                source,
            })
    }

    pub(crate) fn finish(self, set: &mut OutputSet) -> Result<(), OutputError> {
        let io = |source| OutputError::Io {
            path: self.path.clone(),
            source,
        };
        let file = self
            .writer
            .finish()
            .map_err(io)?
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        set.add(units_file::FILE_NAME, file)
    }
}

/// The method an output folder of a run with uncertain inputs records: that of `exact` or of
/// `run`.
pub(crate) fn uncertain_method(exact_command: bool) -> &'static str {
    if exact_command {
        EXACT
    } else {
        MONTE_CARLO
    }
}

/// The manifest of a run with uncertain inputs, or of a shard of one.
pub(crate) fn uncertain_manifest(
    loaded: &Loaded,
    settings: &RunSettings,
    exact_command: bool,
    seed: u64,
    samples: u64,
    used: Used,
) -> Manifest {
    let mut manifest = manifest(loaded, settings, uncertain_method(exact_command));
    manifest.seed = Some(seed);
    manifest.samples = Some(samples);
    manifest.engine = Some(used.name().to_string());
    if let Used::MonteCarlo { paths, .. } = used {
        manifest.paths = Some(paths);
    }
    manifest
}

/// The default folder of a run with uncertain inputs (`output/<id>`, or `-exact` for
/// `pathcast exact`), followed by `suffix`.
pub(crate) fn uncertain_out(loaded: &Loaded, exact_command: bool, suffix: &str) -> PathBuf {
    let command = if exact_command { "-exact" } else { "" };
    default_out(loaded, &format!("{command}{suffix}"))
}

/// Runs a scenario with uncertain inputs (see [`crate::uncertainty`]) and writes its output
/// folder: the usual tables (averaged over the samples), `uncertainty.csv`, `sobol.csv` and
/// `samples.csv` (streamed). For a shard (`settings.shard`), only its samples are computed,
/// and its folder holds `samples.csv` and the units file `pathcast merge` reads; the
/// analysis is then `None`. The folder is checked before any work.
pub fn uncertain(
    loaded: &Loaded,
    settings: &RunSettings,
    plan: &UncertainSettings,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<UncertainFinished> {
    let model = &loaded.model;
    let seed = settings.seed.unwrap_or(model.seed());
    let paths = crate::uncertainty::paths_per_sample(model, settings.paths);
    let shard = settings.shard.as_ref();
    let suffix = shard.map(|s| s.folder_suffix()).unwrap_or_default();
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| uncertain_out(loaded, plan.exact_command, &suffix));
    let method = if plan.exact_command {
        EXACT
    } else {
        MONTE_CARLO
    };
    let mut set = open_output(loaded, &out, method, settings)?;
    let threads = threads(settings.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let (evaluator, _) = Evaluator::new(
        model,
        plan.method,
        plan.limits.clone(),
        MonteCarlo { paths, seed },
        &pool,
        cancel,
        progress,
    )?;
    let used = evaluator.used();
    let mut manifest = uncertain_manifest(
        loaded,
        settings,
        plan.exact_command,
        seed,
        plan.samples,
        used,
    );
    manifest.threads = Some(threads);
    let mut samples_file = SamplesFile::new(&set, model)?;
    let written = |committed: Committed| Written {
        out: out.clone(),
        replaced_earlier: committed.replaced_earlier,
    };
    if let Some(shard) = shard {
        let of = units_file::UnitsOf::new(
            &manifest.scenario_sha256,
            seed,
            if plan.exact_command { "exact" } else { "run" },
            used,
            units_file::uncertain_definition(model),
            shard,
        );
        let mut units = UnitsFile::new(&set, &of)?;
        crate::uncertainty::evaluate(model, shard.range(), seed, &evaluator, |sample| {
            samples_file.write(&sample)?;
            units.unit(sample.index, &units_file::write_sample(&sample))?;
            Ok(())
        })?;
        samples_file.finish(&mut set)?;
        units.finish(&mut set)?;
        manifest.shard = Some(shard.clone());
        let committed = commit_tables(&[("", loaded)], Vec::new(), set, manifest)?;
        return Ok(UncertainFinished {
            analysis: None,
            used,
            written: written(committed),
            threads,
        });
    }
    let analysis = crate::uncertainty::run(model, plan.samples, seed, &evaluator, |sample| {
        Ok(samples_file.write(sample)?)
    })?;
    samples_file.finish(&mut set)?;
    let (report, committed) = write_uncertain(loaded, set, manifest, &analysis)?;
    Ok(UncertainFinished {
        analysis: Some((analysis, report)),
        used,
        written: written(committed),
        threads,
    })
}

/// Writes the output folder of a run with uncertain inputs from its analysis, `set` holding
/// `samples.csv` already: the usual tables (of the average report, returned), then
/// `uncertainty.csv` and `sobol.csv`.
pub(crate) fn write_uncertain(
    loaded: &Loaded,
    set: OutputSet,
    manifest: Manifest,
    analysis: &crate::uncertainty::Analysis,
) -> anyhow::Result<(Report, Committed)> {
    use crate::export::uncertainty as uncertainty_tables;
    let report = Report::from_exact(&loaded.model, &analysis.masses);
    let more = vec![
        (
            uncertainty_tables::UNCERTAINTY,
            uncertainty_tables::uncertainty(analysis),
        ),
        (
            uncertainty_tables::SOBOL,
            uncertainty_tables::sobol(analysis),
        ),
    ];
    let sections = export::html::uncertainty(analysis, &loaded.model);
    let committed = write_outputs_with(loaded, &report, set, manifest, more, sections)?;
    Ok((report, committed))
}

/// Writes `tables`, each scenario's resolved text (`scenario.toml` for the first, then
/// `scenario-<name>.toml`), and the manifest, and moves them into place.
fn commit_tables(
    scenarios: &[(&str, &Loaded)],
    tables: Vec<(&str, Vec<u8>)>,
    mut set: OutputSet,
    mut manifest: Manifest,
) -> anyhow::Result<Committed> {
    for (name, bytes) in tables {
        set.write(name, &bytes)?;
    }
    for (i, (name, loaded)) in scenarios.iter().enumerate() {
        let file = if i == 0 {
            export::manifest::SCENARIO_FILE.to_string()
        } else {
            format!("scenario-{name}.toml")
        };
        let text = format!("{}{}", export::manifest::SCENARIO_HEADER, loaded.resolved);
        set.write(&file, text.as_bytes())?;
    }
    manifest.files = set.names();
    manifest.files.push(export::manifest::FILE_NAME.to_string());
    Ok(set.commit(&manifest)?)
}

/// Where an analysis writes, and how it was computed, for its output folder and manifest.
pub struct AnalysisOutput<'a> {
    /// The analysis, e.g. "sensitivity": it names the default folder `<id>-sensitivity`.
    pub analysis: &'a str,
    /// Exact, or Monte Carlo with its seed and paths per variant.
    pub used: Used,
    pub threads: usize,
    /// For a folder written by `pathcast merge`: the shards it adds up.
    pub merged_shards: Vec<crate::shard::MergedShard>,
}

/// Writes the tables of an analysis of `scenarios` (the first names the folder) into
/// `settings.out`, or `output/<id>-<analysis>`; for a shard (`settings.shard`), into
/// `output/<id>-<analysis>-shard-<I>-of-<K>`, with the shard in the manifest.
pub fn write_analysis(
    scenarios: &[(&str, &Loaded)],
    settings: &RunSettings,
    what: &AnalysisOutput<'_>,
    tables: Vec<(&str, Result<Vec<u8>, ::csv::Error>)>,
) -> anyhow::Result<Written> {
    let loaded = scenarios[0].1;
    let suffix = settings
        .shard
        .as_ref()
        .map(|s| s.folder_suffix())
        .unwrap_or_default();
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| default_out(loaded, &format!("-{}{suffix}", what.analysis)));
    let set = open_output(loaded, &out, what.analysis, settings)?;
    let mut manifest = manifest(loaded, settings, what.analysis);
    for (_, other) in &scenarios[1..] {
        manifest.scenario_files.extend(other.files.iter().cloned());
    }
    manifest.engine = Some(what.used.name().to_string());
    if let Used::MonteCarlo { seed, paths } = what.used {
        manifest.seed = Some(seed);
        manifest.paths = Some(paths);
        manifest.threads = Some(what.threads);
    }
    manifest.merged_shards = what.merged_shards.clone();
    if let Some(shard) = &settings.shard {
        // The seed of a shard's units file, even for exact units: the merge checks it.
        manifest.seed = Some(settings.seed.unwrap_or(loaded.model.seed()));
        manifest.shard = Some(shard.clone());
    }
    let mut built = Vec::new();
    for (name, bytes) in tables {
        built.push((name, bytes.map_err(|e| csv_error(&out, name, e))?));
    }
    let committed = commit_tables(scenarios, built, set, manifest)?;
    Ok(Written {
        out,
        replaced_earlier: committed.replaced_earlier,
    })
}

/// Writes the folder of `shard` of an analysis: its units file, from the analysis's
/// `definition` and each of its units' lines (see [`units_file`]), the scenario and the
/// manifest.
pub fn write_analysis_shard(
    loaded: &Loaded,
    settings: &RunSettings,
    what: &AnalysisOutput<'_>,
    shard: &crate::shard::ShardOfRun,
    definition: String,
    units: &[String],
) -> anyhow::Result<Written> {
    let settings = &RunSettings {
        shard: Some(shard.clone()),
        ..settings.clone()
    };
    let of = units_file::UnitsOf::new(
        &export::manifest::sha256_hex(&loaded.resolved),
        settings.seed.unwrap_or(loaded.model.seed()),
        what.analysis,
        what.used,
        definition,
        shard,
    );
    let text = units_file::text(&of, units);
    write_analysis(
        &[("", loaded)],
        settings,
        what,
        vec![(units_file::FILE_NAME, Ok(text.into_bytes()))],
    )
}
