//! A whole `pathcast run` or `pathcast exact`: simulate or solve, then write the output folder.

use crate::error::{OutputError, SettingError};
use crate::exact;
use crate::export::{self, csv as tables, Committed, Manifest, OutputSet};
use crate::report::Report;
use crate::scenario::Loaded;
use crate::simulate::{self, RunError, RunOptions, Wave};
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
    /// For a shard (`--shard`, set by `shard::plan`): also write its tally file.
    pub shard: Option<crate::shard::ShardOfRun>,
}

pub(crate) const MONTE_CARLO: &str = "monte-carlo";
const EXACT: &str = "exact";

/// The run was stopped by a signal; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: stopped before the end of the run; no output was written")]
pub struct Interrupted;

pub struct Finished {
    pub report: Report,
    pub out: PathBuf,
    /// The output folder held an earlier run, which this one replaced.
    pub replaced_earlier: bool,
    pub threads: usize,
}

/// Opens the output folder for a run, refusing folders that hold the scenario's own files.
fn open_output(
    loaded: &Loaded,
    out: &Path,
    method: &str,
    settings: &RunSettings,
) -> Result<OutputSet, OutputError> {
    let protected: Vec<PathBuf> = loaded
        .files
        .iter()
        .filter_map(|f| std::fs::canonicalize(f).ok())
        .collect();
    OutputSet::new(out, &loaded.model.id, method, settings.force, &protected)
}

/// The folder a scenario's results go to when `--out` is not given.
pub fn default_out(id: &str) -> PathBuf {
    Path::new("output").join(id)
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
    let options = RunOptions {
        first_path: settings.first_path,
        paths: settings.paths.unwrap_or(model.paths),
        seed: settings.seed.unwrap_or(model.seed),
        keep_records: settings.paths_csv,
    };
    let within_counters = options
        .first_path
        .checked_add(options.paths)
        .is_some_and(|end| end <= i64::MAX as u64);
    if options.paths == 0 || !within_counters {
        return Err(SettingError(format!(
            "--paths {} from --first-path {}: a run needs at least one path, and path indices \
             stay below 2^63 so that every count fits its counter",
            options.paths, options.first_path
        ))
        .into());
    }
    let threads = threads(settings.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| default_out(&model.id));
    let mut set = open_output(loaded, &out, MONTE_CARLO, settings)?;

    let mut paths_writer = None;
    if settings.paths_csv {
        let file = set.temporary(tables::PATHS)?;
        let writer = tables::PathsWriter::new(model, BufWriter::new(file))
            .map_err(|e| csv_error(&out, tables::PATHS, e))?;
        paths_writer = Some(writer);
    }
    let result = simulate::run(model, &options, &pool, cancel, |wave: Wave<'_>| {
        if let Some(writer) = paths_writer.as_mut() {
            for record in wave.records {
                writer
                    .write(model, record)
                    .map_err(|e| csv_error(&out, tables::PATHS, e))?;
            }
        }
        progress(wave.paths_done);
        Ok::<(), OutputError>(())
    });
    let tally = match result {
        Ok(tally) => tally,
        Err(RunError::Cancelled) => return Err(Interrupted.into()),
        Err(RunError::Caller(e)) => return Err(e.into()),
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
    if let Some(shard) = &settings.shard {
        crate::shard::write_tally(&mut set, &mut manifest, model, &tally, shard)?;
    }
    let committed = write_outputs(loaded, &report, set, manifest)?;
    Ok(Finished {
        report,
        out,
        replaced_earlier: committed.replaced_earlier,
        threads,
    })
}

/// Solves the scenario exactly and writes its output folder (by default beside the Monte
/// Carlo one, as `<id>-exact`).
pub fn exact(
    loaded: &Loaded,
    settings: &RunSettings,
    limits: &exact::Limits,
) -> anyhow::Result<Finished> {
    let model = &loaded.model;
    let masses = exact::solve(model, limits)?;
    let report = Report::from_exact(model, &masses);
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| default_out(&format!("{}-exact", model.id)));
    let set = open_output(loaded, &out, EXACT, settings)?;
    let committed = write_outputs(loaded, &report, set, manifest(loaded, settings, EXACT))?;
    Ok(Finished {
        report,
        out,
        replaced_earlier: committed.replaced_earlier,
        threads: 1,
    })
}

pub(crate) fn manifest(loaded: &Loaded, settings: &RunSettings, method: &str) -> Manifest {
    Manifest {
        pathcast_version: env!("CARGO_PKG_VERSION").to_string(),
        method: method.to_string(),
        command: settings.command.clone(),
        scenario: loaded.model.id.clone(),
        scenario_files: loaded.files.clone(),
        scenario_sha256: export::manifest::sha256_hex(&loaded.resolved),
        seed: None,
        first_path: None,
        paths: None,
        threads: None,
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
    mut set: OutputSet,
    mut manifest: Manifest,
) -> anyhow::Result<Committed> {
    let model = &loaded.model;
    let out = set.dir().to_path_buf();
    type Table = fn(&crate::Model, &Report) -> Result<Vec<u8>, ::csv::Error>;
    let builders: [(&str, Table); 4] = [
        (tables::OUTCOMES, tables::outcomes),
        (tables::EVENTS, tables::events),
        (tables::TIMELINE, tables::timeline),
        (tables::CONDITIONAL, tables::conditional),
    ];
    for (name, build) in builders {
        let bytes = build(model, report).map_err(|e| csv_error(&out, name, e))?;
        set.write(name, &bytes)?;
    }
    let scenario_text = format!("{}{}", export::manifest::SCENARIO_HEADER, loaded.resolved);
    set.write(export::manifest::SCENARIO_FILE, scenario_text.as_bytes())?;
    manifest.files = set.names();
    manifest.files.push(export::manifest::FILE_NAME.to_string());
    Ok(set.commit(&manifest)?)
}
