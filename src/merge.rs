//! `pathcast merge`: the shard folders of one run, added up into the output folder that one
//! `pathcast run` of all its paths writes. The tables are derived from the summed integer
//! counts by the same code as a run's, so they are byte-identical to that run's.
//!
//! Every check is made before anything is written: shards that do not make exactly one whole
//! run leave the file system as it was.

use crate::error::ShardError;
use crate::export::manifest::{self, sha256_hex, SCENARIO_FILE, SCENARIO_HEADER};
use crate::export::{tally_file, Manifest, OutputSet};
use crate::job::{self, RunSettings};
use crate::report::Report;
use crate::scenario;
use crate::shard::{array_list, MergedShard, ShardOfRun};
use crate::simulate::Tally;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct MergeSettings {
    /// The shard folders, in any order.
    pub folders: Vec<PathBuf>,
    /// Output folder [default: output/<scenario id>, where one run would have written].
    pub out: Option<PathBuf>,
    pub force: bool,
    /// The command line, recorded in the manifest.
    pub command: String,
}

pub struct Merged {
    /// The scenario, as the shards recorded it.
    pub loaded: crate::Loaded,
    /// The report of the whole run, and where it was written.
    pub finished: job::Finished,
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
    tally_text: String,
}

fn refuse(folder: &Path, message: impl std::fmt::Display) -> ShardError {
    ShardError(format!("{}: {message}", folder.display()))
}

fn read_text(folder: &Path, name: &str) -> Result<String, ShardError> {
    std::fs::read_to_string(folder.join(name)).map_err(|e| {
        refuse(
            folder,
            format!("cannot read {name} ({e}); is it a shard folder of pathcast run --shard?"),
        )
    })
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
            "is not a shard folder: its manifest.toml has no [shard] table, seed and path range \
             (shards are written by pathcast run --shard I/K)",
        )
    };
    let shard = manifest.shard.clone().ok_or_else(not_a_shard)?;
    let seed = manifest.seed.ok_or_else(not_a_shard)?;
    let expected = crate::shard::Shard {
        index: shard.index,
        count: shard.count,
    };
    let consistent = shard.index < shard.count
        && shard.count <= shard.total_paths
        && expected.range(shard.total_paths) == (shard.first_path..shard.end_path)
        && manifest.first_path == Some(shard.first_path)
        && manifest.paths == Some(shard.end_path - shard.first_path);
    if !consistent {
        return Err(refuse(
            folder,
            "the path range in manifest.toml is not that of its shard I/K of N paths (was it \
             edited?)",
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
    let tally_text = read_text(folder, tally_file::FILE_NAME)?;
    Ok(ShardFolder {
        folder: folder.to_path_buf(),
        manifest,
        shard,
        seed,
        resolved,
        tally_text,
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
             pathcast version, scenario, seed and --paths",
            a.folder.display()
        ),
    ))
}

/// Where the shards leave paths of [0, N) uncovered: the message for the user.
fn missing_message(shards: &[(ShardFolder, Tally)], gaps: &[(u64, u64)], total: u64) -> String {
    let count = shards[0].0.shard.count;
    let ranges: Vec<String> = gaps.iter().map(|(a, b)| format!("[{a}, {b})")).collect();
    let mut message = format!(
        "the shards do not cover the paths {} of [0, {total}); nothing was written",
        ranges.join(", ")
    );
    if shards.iter().all(|(s, _)| s.shard.count == count) {
        let missing: Vec<u64> = (0..count)
            .filter(|&i| !shards.iter().any(|(s, _)| s.shard.index == i))
            .collect();
        message.push_str(&format!(
            ". Missing shards of {count}: {list}; run them (with the shards' seed and --paths), \
             e.g. `PATHCAST_SHARDS={count} sbatch --array={list} deploy/slurm/shards.sbatch ...` \
             or `pathcast run ... --shard I/{count}`, and merge again",
            list = array_list(&missing)
        ));
    }
    message
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
        agree(first, other, "scenario (scenario_sha256)", |s| {
            s.manifest.scenario_sha256.clone()
        })?;
        agree(first, other, "seed", |s| s.seed.to_string())?;
        agree(first, other, "number of paths of the whole run (N)", |s| {
            s.shard.total_paths.to_string()
        })?;
    }

    // The scenario as the shards ran it. Loading the resolved text gives the model; the text
    // itself is written back unchanged, so that scenario.toml is that of one run too.
    let scenario_path = first.folder.join(SCENARIO_FILE);
    let mut loaded = scenario::load(&scenario_path.display().to_string(), &[])?;
    loaded.resolved = first.resolved.clone();
    loaded.files = first.manifest.scenario_files.clone();
    // A variant's shards name their `--set` overrides: the merge goes where one run of it would.
    loaded.overrides = first.manifest.overrides.clone();
    let model = &loaded.model;

    let mut shards = Vec::with_capacity(folders.len());
    for folder in folders {
        let tally_path = folder.folder.join(tally_file::FILE_NAME);
        let (of, tally) = tally_file::read(model, &folder.tally_text)
            .map_err(|e| ShardError(format!("{}: {e}", tally_path.display())))?;
        let expected = tally_file::TallyOf {
            scenario_sha256: folder.manifest.scenario_sha256.clone(),
            seed: folder.seed,
            first_path: folder.shard.first_path,
            paths: folder.shard.end_path - folder.shard.first_path,
        };
        if of != expected {
            return Err(ShardError(format!(
                "{}: its scenario, seed or path range differs from manifest.toml's",
                tally_path.display()
            ))
            .into());
        }
        shards.push((folder, tally));
    }
    shards.sort_by_key(|(s, _)| (s.shard.first_path, s.shard.end_path));

    // Identical shards (a retried or duplicated task) count once; different counts for the
    // same paths, or shards that overlap, mean something is wrong with one of them.
    let mut duplicates = Vec::new();
    let mut unique: Vec<(ShardFolder, Tally)> = Vec::new();
    for (folder, tally) in shards {
        if let Some((kept, kept_tally)) = unique.last() {
            let same_range = (kept.shard.first_path, kept.shard.end_path)
                == (folder.shard.first_path, folder.shard.end_path);
            if same_range && *kept_tally == tally {
                duplicates.push((folder.folder, kept.folder.clone()));
                continue;
            }
            if folder.shard.first_path < kept.shard.end_path {
                let conflict = if same_range {
                    "holds the same paths with different counts"
                } else {
                    "overlaps"
                };
                return Err(refuse(
                    &folder.folder,
                    format!(
                        "paths [{}, {}) {conflict} {} (paths [{}, {})); nothing was written",
                        folder.shard.first_path,
                        folder.shard.end_path,
                        kept.folder.display(),
                        kept.shard.first_path,
                        kept.shard.end_path
                    ),
                )
                .into());
            }
        }
        unique.push((folder, tally));
    }

    let total = unique[0].0.shard.total_paths;
    let mut gaps = Vec::new();
    let mut covered = 0;
    for (folder, _) in &unique {
        if folder.shard.first_path > covered {
            gaps.push((covered, folder.shard.first_path));
        }
        covered = folder.shard.end_path;
    }
    if covered < total {
        gaps.push((covered, total));
    }
    if !gaps.is_empty() {
        return Err(ShardError(missing_message(&unique, &gaps, total)).into());
    }

    let mut sum = Tally::new(model);
    for (_, tally) in &unique {
        sum.merge(tally);
    }
    let seed = unique[0].0.seed;
    let report = Report::from_tally(model, &sum, seed, 0);

    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| job::default_out(&loaded, ""));
    // The shard folders are inputs: never replaced by their own merge, even with --force.
    let protected: Vec<PathBuf> = settings
        .folders
        .iter()
        .filter_map(|f| std::fs::canonicalize(f.join(SCENARIO_FILE)).ok())
        .collect();
    if let Ok(out_canonical) = std::fs::canonicalize(&out) {
        if protected.iter().any(|p| p.parent() == Some(&out_canonical)) {
            return Err(ShardError(format!(
                "--out {}: is one of the shard folders being merged; give the merged results \
                 a folder of their own",
                out.display()
            ))
            .into());
        }
    }
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
    manifest.merged_shards = unique
        .iter()
        .map(|(s, _)| MergedShard {
            folder: s.folder.display().to_string(),
            index: s.shard.index,
            count: s.shard.count,
            first_path: s.shard.first_path,
            end_path: s.shard.end_path,
        })
        .collect();
    let committed = job::write_outputs(&loaded, &report, set, manifest)?;
    Ok(Merged {
        finished: job::Finished {
            report,
            notes: Vec::new(),
            written: job::Written {
                out,
                replaced_earlier: committed.replaced_earlier,
            },
            threads: 1,
            paths: total,
            precision: None,
        },
        loaded,
        shards: unique.len(),
        duplicates,
    })
}
