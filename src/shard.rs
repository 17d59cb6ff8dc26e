//! Shards: one run of N paths split into K parts that run anywhere (the tasks of a Slurm job
//! array, a Kubernetes Indexed Job, a shell loop) and add up exactly with `pathcast merge`.
//!
//! Path i always draws from its own random stream, so shard I of K is a pure function of
//! (scenario, seed, N, I, K): a retried or duplicated task writes the same counts.

use crate::error::{OutputError, SettingError};
use crate::export::{tally_file, Manifest, OutputSet};
use crate::job::{self, RunSettings};
use crate::model::Model;
use crate::scenario::Loaded;
use crate::simulate::Tally;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The paths of this shard in a run of `total` paths: [floor(I*N/K), floor((I+1)*N/K)).
    /// The shards of one K tile [0, N) exactly, with sizes that differ by at most one.
    pub fn range(self, total: u64) -> Range<u64> {
        // In 128 bits: I * N overflows u64 for large runs.
        let at = |i: u64| (u128::from(i) * u128::from(total) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// What `--shard` asks for: `I/K`, or `auto` (from the batch system's environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Given(Shard),
    Auto,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<ShardSpec, String> {
        if text == "auto" {
            return Ok(ShardSpec::Auto);
        }
        let parsed = text
            .split_once('/')
            .and_then(|(i, k)| Some((digits(i)?, digits(k)?)));
        match parsed {
            Some((index, count)) if index < count => Ok(ShardSpec::Given(Shard { index, count })),
            Some(_) => Err("I must be below K: shards are numbered 0 to K-1".to_string()),
            None => Err("expected I/K (shard I of K, e.g. 3/100) or auto".to_string()),
        }
    }
}

/// Plain decimal digits, as shells and schedulers write indices (no sign, no spaces).
fn digits(text: &str) -> Option<u64> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
}

const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";
const INDEXED_JOB: &str = "JOB_COMPLETION_INDEX";

fn setting(message: String) -> SettingError {
    SettingError(format!("--shard auto: {message}"))
}

/// The shard a task of a job array is. In a Slurm array without `shards`, the array is the
/// whole run: shard (task id - the array's first id) of (the array's task count), and the
/// array must be one contiguous range. With `shards` (`--shards K`), the task id is the shard
/// index, so that any subset of the shards can be (re)submitted (`sbatch --array=3,17`). In a
/// Kubernetes Indexed Job, `JOB_COMPLETION_INDEX` of `shards`. `env` reads a variable (unset
/// or empty: `None`); tests pass their own.
pub fn from_environment(
    env: impl Fn(&str) -> Option<String>,
    shards: Option<u64>,
) -> Result<Shard, SettingError> {
    let var = |name: &str| -> Result<Option<u64>, SettingError> {
        match env(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => digits(&v)
                .map(Some)
                .ok_or_else(|| setting(format!("{name}='{v}' is not a whole number"))),
        }
    };
    if let Some(id) = var(SLURM_ID)? {
        if let Some(count) = shards {
            return index_of(SLURM_ID, id, count);
        }
        let needed = |name: &str| {
            var(name)?.ok_or_else(|| setting(format!("{SLURM_ID} is set but {name} is not")))
        };
        let (min, max, count) = (needed(SLURM_MIN)?, needed(SLURM_MAX)?, needed(SLURM_COUNT)?);
        let step = var(SLURM_STEP)?.unwrap_or(1);
        // A list or a stepped range (--array=1,5,9 or 0-9:2) would leave gaps in the paths.
        if step != 1 || max < min || max - min + 1 != count || id < min || id > max {
            return Err(setting(format!(
                "the job array is not one contiguous range ({SLURM_ID}={id}, {SLURM_MIN}={min}, \
                 {SLURM_MAX}={max}, {SLURM_COUNT}={count}, {SLURM_STEP}={step}); submit it as \
                 --array=0-<K-1> (a %limit is fine), or give --shards K to take the task ids as \
                 shard indices"
            )));
        }
        return Ok(Shard {
            index: id - min,
            count,
        });
    }
    if let Some(index) = var(INDEXED_JOB)? {
        let count = shards.ok_or_else(|| {
            setting(format!(
                "{INDEXED_JOB} is set; give the number of shards (the Job's completions) with \
                 --shards K"
            ))
        })?;
        return index_of(INDEXED_JOB, index, count);
    }
    Err(setting(format!(
        "neither {SLURM_ID} (a task of a Slurm job array) nor {INDEXED_JOB} (a Kubernetes Indexed \
         Job) is set; outside a job array give the shard as --shard I/K"
    )))
}

/// Shard `index` (from the variable `name`) of `count`.
fn index_of(name: &str, index: u64, count: u64) -> Result<Shard, SettingError> {
    if index >= count {
        return Err(setting(format!(
            "{name}={index} is not below --shards {count}; shards are numbered 0 to K-1"
        )));
    }
    Ok(Shard { index, count })
}

/// What the shards of a job divide among themselves: the paths of a run, the samples of a
/// run with uncertain inputs, the grid points of a sweep, the parameters of a sensitivity
/// analysis. Unit i is a pure function of the job and i, so any range of units can run
/// anywhere and the merge derives the whole job's tables from the units in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Paths,
    Samples,
    Points,
    Parameters,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Paths => "paths",
            Unit::Samples => "samples",
            Unit::Points => "points",
            Unit::Parameters => "parameters",
        }
    }

    /// What sets the number of units, for messages.
    fn set_by(self) -> &'static str {
        match self {
            Unit::Paths => "--paths",
            Unit::Samples => "--samples",
            Unit::Points => "the grid of --vary",
            Unit::Parameters => "the parameters varied",
        }
    }
}

/// What a shard folder's manifest records about its shard (its `[shard]` table): shard
/// `index` of `count` of a job of `total` units, holding the units [first, end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOfRun {
    pub unit: Unit,
    pub index: u64,
    pub count: u64,
    pub total: u64,
    pub first: u64,
    pub end: u64,
}

impl ShardOfRun {
    /// Shard `shard` of a job of `total` units, refused when some shards would be empty.
    pub fn new(shard: Shard, unit: Unit, total: u64) -> Result<ShardOfRun, SettingError> {
        if shard.count > total {
            return Err(SettingError(format!(
                "--shard {}/{}: {} shards of {total} {} ({}) would leave some shards empty; \
                 use at most {total} shards",
                shard.index,
                shard.count,
                shard.count,
                unit.name(),
                unit.set_by()
            )));
        }
        let range = shard.range(total);
        Ok(ShardOfRun {
            unit,
            index: shard.index,
            count: shard.count,
            total,
            first: range.start,
            end: range.end,
        })
    }

    pub fn range(&self) -> Range<u64> {
        self.first..self.end
    }

    /// Whether the range is that of shard I of K of the total: a manifest that says otherwise
    /// was edited.
    pub fn consistent(&self) -> bool {
        let shard = Shard {
            index: self.index,
            count: self.count,
        };
        self.index < self.count
            && self.count <= self.total
            && shard.range(self.total) == self.range()
    }

    /// What the default folder of a shard adds to the job's: `-shard-<I>-of-<K>`, so that the
    /// shards of a job never share a folder.
    pub fn folder_suffix(&self) -> String {
        format!("-shard-{}-of-{}", self.index, self.count)
    }
}

/// One shard of a merged folder, as its manifest lists it (`[[merged_shards]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedShard {
    pub folder: String,
    pub index: u64,
    pub count: u64,
    pub first: u64,
    pub end: u64,
}

/// The shard `--shard` (and `--shards`) name: given, or read from the batch system.
pub fn resolve(spec: ShardSpec, shards: Option<u64>) -> Result<Shard, SettingError> {
    match spec {
        ShardSpec::Given(_) if shards.is_some() => Err(SettingError(
            "--shards K goes with --shard auto; --shard I/K names K already".to_string(),
        )),
        ShardSpec::Given(shard) => Ok(shard),
        ShardSpec::Auto => from_environment(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            shards,
        ),
    }
}

/// Turns `settings` (with `--paths N` as the whole run) into the run of one shard: its path
/// range, its own default output folder (`output/<id>-shard-<I>-of-<K>`, so that the shards
/// of a run never share one), and the record that makes `job::run` write its tally.
pub fn plan(
    spec: ShardSpec,
    shards: Option<u64>,
    loaded: &Loaded,
    settings: &mut RunSettings,
) -> Result<ShardOfRun, SettingError> {
    let total = settings.paths.unwrap_or(loaded.model.paths());
    let shard = ShardOfRun::new(resolve(spec, shards)?, Unit::Paths, total)?;
    settings.first_path = shard.first;
    settings.paths = Some(shard.end - shard.first);
    settings
        .out
        .get_or_insert_with(|| job::default_out(loaded, &shard.folder_suffix()));
    settings.shard = Some(shard.clone());
    Ok(shard)
}

/// Adds the tally file of a shard to its output folder and its `[shard]` table to the
/// manifest.
pub fn write_tally(
    set: &mut OutputSet,
    manifest: &mut Manifest,
    model: &Model,
    tally: &Tally,
    shard: &ShardOfRun,
) -> Result<(), OutputError> {
    let of = tally_file::TallyOf {
        scenario_sha256: manifest.scenario_sha256.clone(),
        seed: manifest.seed.unwrap_or(model.seed()),
        first_path: shard.first,
        paths: shard.end - shard.first,
    };
    set.write(
        tally_file::FILE_NAME,
        tally_file::write(model, tally, &of).as_bytes(),
    )?;
    manifest.shard = Some(shard.clone());
    Ok(())
}

/// Indices as `sbatch --array` takes them: ascending, runs shortened (`3,5-7,17`).
pub fn array_list(indices: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            indices[i].to_string()
        } else {
            format!("{}-{}", indices[i], indices[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn slurm(id: &str, min: &str, max: &str, count: &str) -> Vec<(&'static str, String)> {
        vec![
            (SLURM_ID, id.to_string()),
            (SLURM_MIN, min.to_string()),
            (SLURM_MAX, max.to_string()),
            (SLURM_COUNT, count.to_string()),
        ]
    }

    fn detect(vars: &[(&str, String)], shards: Option<u64>) -> Result<Shard, String> {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        from_environment(env(&vars), shards).map_err(|e| e.0)
    }

    #[test]
    fn shards_tile_the_run_exactly() {
        for (total, count) in [(10, 3), (1, 1), (7, 7), (1_000_003, 100), (u64::MAX, 7)] {
            let mut next = 0;
            for index in 0..count {
                let range = Shard { index, count }.range(total);
                assert_eq!(range.start, next);
                let size = range.end - range.start;
                assert!(size == total / count || size == total / count + 1);
                next = range.end;
            }
            assert_eq!(next, total);
        }
        assert_eq!(Shard { index: 1, count: 3 }.range(10), 3..6);
    }

    #[test]
    fn the_shard_flag_parses_i_of_k_and_auto() {
        let given = |index, count| Ok(ShardSpec::Given(Shard { index, count }));
        assert_eq!("3/100".parse(), given(3, 100));
        assert_eq!("0/1".parse(), given(0, 1));
        assert_eq!("auto".parse::<ShardSpec>(), Ok(ShardSpec::Auto));
        for bad in [
            "3/3", "4/3", "0/0", "-1/3", "1/+3", " 1/3", "1/", "/3", "1", "a/b", "",
        ] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_arrays_give_the_task_less_the_first_id() {
        let shard = |index, count| Ok(Shard { index, count });
        assert_eq!(detect(&slurm("0", "0", "99", "100"), None), shard(0, 100));
        assert_eq!(detect(&slurm("17", "10", "19", "10"), None), shard(7, 10));
        // With --shards K the task id is the shard: a resubmitted --array=3,17 of 100.
        assert_eq!(
            detect(&slurm("17", "3", "17", "2"), Some(100)),
            shard(17, 100)
        );
        let mut stepped = slurm("2", "0", "2", "3");
        stepped.push((SLURM_STEP, "1".into()));
        assert_eq!(detect(&stepped, None), shard(2, 3));
        // Slurm's variables are read first.
        let mut both = slurm("1", "0", "3", "4");
        both.push((INDEXED_JOB, "9".into()));
        assert_eq!(detect(&both, None), shard(1, 4));
    }

    #[test]
    fn gaps_in_the_array_and_partial_variables_are_refused() {
        let refused = |vars: &[(&str, String)], shards, needle: &str| {
            let message = detect(vars, shards).unwrap_err();
            assert!(message.starts_with("--shard auto: "), "{message}");
            assert!(message.contains(needle), "{message}");
        };
        // --array=1,5,9: three tasks spread over nine ids.
        refused(&slurm("5", "1", "9", "3"), None, "not one contiguous range");
        let mut stepped = slurm("2", "0", "8", "5");
        stepped.push((SLURM_STEP, "2".into()));
        refused(&stepped, None, "SLURM_ARRAY_TASK_STEP=2");
        refused(
            &slurm("12", "0", "9", "10"),
            None,
            "not one contiguous range",
        );
        refused(
            &slurm("12", "0", "19", "20"),
            Some(10),
            "not below --shards 10",
        );
        refused(&slurm("x", "0", "9", "10"), None, "SLURM_ARRAY_TASK_ID='x'");
        refused(
            &slurm("1", "0", "9", "10")[..2],
            None,
            "SLURM_ARRAY_TASK_MAX is not",
        );
        refused(&[], None, "neither SLURM_ARRAY_TASK_ID");
        refused(&[(SLURM_ID, String::new())], None, "neither");
    }

    #[test]
    fn indexed_jobs_need_the_shard_count() {
        let vars = [(INDEXED_JOB, "4".to_string())];
        assert_eq!(detect(&vars, Some(5)), Ok(Shard { index: 4, count: 5 }));
        assert!(detect(&vars, None).unwrap_err().contains("--shards K"));
        assert!(detect(&vars, Some(4)).unwrap_err().contains("not below"));
    }

    #[test]
    fn missing_indices_read_as_an_sbatch_array() {
        assert_eq!(array_list(&[3, 17]), "3,17");
        assert_eq!(array_list(&[0, 1, 2, 5, 7, 8, 9]), "0-2,5,7-9");
        assert_eq!(array_list(&[4]), "4");
    }
}
