//! Shards and `pathcast merge`, run as a user would: shards of any split merge to the very
//! bytes of one run; every set of shards that is not exactly one whole run is refused with
//! exit code 2 and nothing written; `--shard auto` reads the batch system's variables.

use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

use crate::common;
use common::pathcast;

/// Every file a merged folder shares with one run, byte for byte (the manifest differs).
const SAME_AS_ONE_RUN: [&str; 5] = [
    "outcomes.csv",
    "events.csv",
    "timeline.csv",
    "conditional.csv",
    "scenario.toml",
];
const PATHS: u64 = 30_011;

/// The variables `--shard auto` reads, removed so that a test run inside a job array sees only
/// what the test sets.
const BATCH_VARIABLES: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
];

fn setup() -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("small.toml"), common::SMALL_SCENARIO).unwrap();
    dir
}

/// `pathcast run small.toml --paths N --seed S --out OUT`, with `extra` flags.
fn run(dir: &Path, out: &str, paths: u64, seed: u64, extra: &[&str]) {
    let (paths, seed) = (paths.to_string(), seed.to_string());
    pathcast(dir)
        .args([
            "run",
            "small.toml",
            "--paths",
            &paths,
            "--seed",
            &seed,
            "--out",
            out,
        ])
        .args(extra)
        .assert()
        .success();
}

/// Writes shard `index` of `count` into `out`.
fn shard(dir: &Path, out: &str, index: u64, count: u64, paths: u64, seed: u64) {
    let spec = format!("{index}/{count}");
    run(dir, out, paths, seed, &["--shard", &spec]);
}

/// Every file under `dir`, with its contents: what "nothing was written" is checked against.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// `pathcast merge FOLDERS --out merged`: must exit 2 with a message containing each of
/// `needles`, and leave `dir` exactly as it was.
fn merge_refused(dir: &Path, folders: &[&str], needles: &[&str]) {
    let before = snapshot(dir);
    let output = pathcast(dir)
        .arg("merge")
        .args(folders)
        .args(["--out", "merged"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{folders:?}: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{folders:?}: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(snapshot(dir), before, "{folders:?} wrote something");
}

fn merge(dir: &Path, folders: &[String], out: &str) -> String {
    let output = pathcast(dir)
        .arg("merge")
        .args(folders)
        .args(["--out", out])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{folders:?}: {stderr}");
    stderr
}

fn assert_same_as(dir: &Path, single: &str, merged: &str) {
    for file in SAME_AS_ONE_RUN {
        let a = fs::read(dir.join(single).join(file)).unwrap();
        let b = fs::read(dir.join(merged).join(file)).unwrap();
        assert!(a == b, "{merged}/{file} differs from {single}/{file}");
    }
}

/// A tiny deterministic generator, so that the "random" splits are the same on every run.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn shards_of_any_split_merge_to_the_bytes_of_one_run() {
    let dir = setup();
    let d = dir.path();
    run(d, "single", PATHS, 5, &[]);
    let mut state = 12345;
    for split in 0..4 {
        // K from 1 to 40, shards given in a shuffled order.
        let count = if split == 0 {
            1
        } else {
            2 + next(&mut state) % 39
        };
        let mut folders: Vec<String> = (0..count)
            .map(|i| {
                let out = format!("split{split}/shard-{i}");
                shard(d, &out, i, count, PATHS, 5);
                out
            })
            .collect();
        for i in (1..folders.len()).rev() {
            folders.swap(i, (next(&mut state) % (i as u64 + 1)) as usize);
        }
        let merged = format!("merged{split}");
        merge(d, &folders, &merged);
        assert_same_as(d, "single", &merged);
        let manifest = fs::read_to_string(d.join(&merged).join("manifest.toml")).unwrap();
        assert_eq!(manifest.matches("[[merged_shards]]").count() as u64, count);
        assert!(manifest.contains(&format!("paths = {PATHS}\n")));
    }
    // A shard folder holds the tables of its own paths and the tally; a merged folder holds
    // the same files as one run.
    let names = |folder: &str| {
        let mut n: Vec<String> = fs::read_dir(d.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("merged1"), names("single"));
    assert!(names("split1/shard-0").contains(&"tally.txt".to_string()));

    // Shards of different splits that tile [0, N): half of 2, then quarters 2 and 3 of 4.
    shard(d, "half0", 0, 2, PATHS, 5);
    shard(d, "quarter2", 2, 4, PATHS, 5);
    shard(d, "quarter3", 3, 4, PATHS, 5);
    merge(
        d,
        &["quarter3", "half0", "quarter2"].map(String::from),
        "mixed",
    );
    assert_same_as(d, "single", "mixed");
}

#[test]
fn a_preset_with_overrides_merges_to_the_same_scenario_and_tables() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let args = [
        "run",
        "baseline",
        "--paths",
        "20000",
        "--seed",
        "9",
        "--set",
        "events.meeting.p=0.05",
    ];
    pathcast(d)
        .args(args)
        .args(["--out", "single"])
        .assert()
        .success();
    for i in 0..3 {
        pathcast(d)
            .args(args)
            .args(["--shard", &format!("{i}/3")])
            .assert()
            .success();
    }
    // Without --out, each shard has a folder of its own, named after the variant.
    let folders: Vec<String> = (0..3)
        .map(|i| format!("output/baseline+events.meeting.p=0.05-shard-{i}-of-3"))
        .collect();
    merge(d, &folders, "merged");
    assert_same_as(d, "single", "merged");
    // Without --out, the merge goes where one run of the variant would.
    pathcast(d).arg("merge").args(&folders).assert().success();
    assert_same_as(d, "single", "output/baseline+events.meeting.p=0.05");
}

#[test]
fn identical_duplicates_count_once_and_conflicting_ones_are_refused() {
    let dir = setup();
    let d = dir.path();
    run(d, "single", PATHS, 5, &[]);
    for i in 0..3 {
        shard(d, &format!("s{i}"), i, 3, PATHS, 5);
    }
    // A retried task wrote shard 1 again, into another folder: the same bytes.
    shard(d, "s1-retry", 1, 3, PATHS, 5);
    let folders = ["s0", "s1", "s1-retry", "s2", "s1"].map(String::from);
    let stderr = merge(d, &folders, "merged");
    assert!(stderr.contains("counted once"), "{stderr}");
    assert_same_as(d, "single", "merged");

    // A shard with the same paths and different counts (edited, resealed with a valid
    // checksum, still consistent): one of the two is wrong, and merge cannot tell which.
    copy_folder(&d.join("s1"), &d.join("s1-other"));
    let tally = d.join("s1-other/tally.txt");
    let text = fs::read_to_string(&tally).unwrap();
    fs::write(&tally, reseal(&move_one_path(&text))).unwrap();
    merge_refused(
        d,
        &["s0", "s1", "s1-other", "s2"],
        &["s1", "same paths with different counts"],
    );
}

#[test]
fn shards_of_other_runs_are_refused() {
    let dir = setup();
    let d = dir.path();
    shard(d, "a0", 0, 2, PATHS, 5);
    shard(d, "a1", 1, 2, PATHS, 5);
    shard(d, "seed", 1, 2, PATHS, 6);
    shard(d, "paths", 1, 2, PATHS + 1, 5);
    run(
        d,
        "scenario",
        PATHS,
        5,
        &["--shard", "1/2", "--set", "events.talks.p=0.4"],
    );
    merge_refused(
        d,
        &["a0", "seed"],
        &["seed: its seed (6) differs from that of a0 (5)"],
    );
    merge_refused(
        d,
        &["a0", "paths"],
        &["paths: its number of paths", "(30012)"],
    );
    merge_refused(
        d,
        &["a0", "scenario"],
        &["scenario: its scenario (scenario_sha256)"],
    );

    // A shard of another pathcast version, second or first.
    copy_folder(&d.join("a1"), &d.join("old"));
    let manifest = d.join("old/manifest.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    let version = format!("pathcast_version = \"{}\"", env!("CARGO_PKG_VERSION"));
    fs::write(
        &manifest,
        text.replace(&version, "pathcast_version = \"0.0.1\""),
    )
    .unwrap();
    merge_refused(d, &["a0", "old"], &["old: its pathcast version (0.0.1)"]);
    merge_refused(d, &["old", "a0"], &["old: written by pathcast 0.0.1"]);

    // Overlapping paths from two different splits: [0, 15005) and [10003, 20007).
    shard(d, "third1", 1, 3, PATHS, 5);
    merge_refused(d, &["a0", "third1"], &["overlaps"]);

    // Folders that are not shards.
    run(d, "whole", PATHS, 5, &[]);
    merge_refused(d, &["a0", "whole"], &["whole: is not a shard folder"]);
    merge_refused(
        d,
        &["a0", "nowhere"],
        &["nowhere: cannot read manifest.toml"],
    );
    // The merged folder may not be one of its shards, even with --force.
    let before = snapshot(d);
    pathcast(d)
        .args(["merge", "a0", "a1", "--out", "a0", "--force"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is one of the shard folders"));
    assert_eq!(snapshot(d), before);
}

#[test]
fn missing_shards_are_named_as_sbatch_array_takes_them() {
    let dir = setup();
    let d = dir.path();
    for i in [0, 2, 4, 5] {
        shard(d, &format!("s{i}"), i, 9, PATHS, 5);
    }
    merge_refused(
        d,
        &["s0", "s2", "s4", "s5"],
        &[
            "PATHCAST_SHARDS=9 sbatch --array=1,3,6-8 ",
            "nothing was written",
        ],
    );
    // Without shard 0, the gap is at the start.
    merge_refused(d, &["s2"], &["--array=0-1,3-8 "]);
}

#[test]
fn corrupted_truncated_or_missing_tally_files_are_refused() {
    let dir = setup();
    let d = dir.path();
    shard(d, "s0", 0, 2, PATHS, 5);
    shard(d, "s1", 1, 2, PATHS, 5);
    let tally = d.join("s1/tally.txt");
    let good = fs::read_to_string(&tally).unwrap();

    fs::write(&tally, move_one_path(&good)).unwrap();
    merge_refused(d, &["s0", "s1"], &["s1/tally.txt", "checksum"]);
    fs::write(&tally, &good[..good.len() * 2 / 3]).unwrap();
    merge_refused(d, &["s0", "s1"], &["s1/tally.txt", "truncated"]);
    fs::write(&tally, "").unwrap();
    merge_refused(d, &["s0", "s1"], &["s1/tally.txt", "line 1"]);
    // Resealed after an edit that no run could produce: more paths than the shard has.
    fs::write(&tally, reseal(&good.replacen(" 0 ", " 1 ", 1))).unwrap();
    merge_refused(d, &["s0", "s1"], &["s1/tally.txt", "inconsistent"]);
    fs::remove_file(&tally).unwrap();
    merge_refused(d, &["s0", "s1"], &["s1: cannot read tally.txt"]);

    // The tally of another shard in this folder: the manifest and the tally disagree.
    fs::copy(d.join("s0/tally.txt"), &tally).unwrap();
    merge_refused(
        d,
        &["s0", "s1"],
        &["s1/tally.txt", "differs from manifest.toml"],
    );
    fs::write(&tally, &good).unwrap();
    // A scenario.toml changed after the run.
    let scenario = d.join("s1/scenario.toml");
    let text = fs::read_to_string(&scenario).unwrap();
    fs::write(&scenario, text.replace("p = 0.3", "p = 0.4")).unwrap();
    merge_refused(d, &["s0", "s1"], &["s1: scenario.toml does not match"]);
    fs::write(&scenario, text).unwrap();
    merge(d, &["s0".into(), "s1".into()], "merged");
}

/// `pathcast run small.toml ARGS` with none of the batch system's variables but `vars`.
fn in_batch(d: &Path, vars: &[(&str, &str)], args: &[&str]) -> assert_cmd::Command {
    let mut cmd = pathcast(d);
    for var in BATCH_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.envs(vars.iter().copied());
    cmd.args(["run", "small.toml"]).args(args);
    cmd
}

#[test]
fn shard_auto_reads_slurm_arrays_and_indexed_jobs() {
    let dir = setup();
    let d = dir.path();
    let slurm = |id, min, max, count| {
        [
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_MIN", min),
            ("SLURM_ARRAY_TASK_MAX", max),
            ("SLURM_ARRAY_TASK_COUNT", count),
            ("SLURM_ARRAY_TASK_STEP", "1"),
        ]
    };
    let auto = ["--paths", "1000", "--shard", "auto"];
    // --array=1-4: task 3 is shard 2 of 4, in a folder of its own.
    in_batch(d, &slurm("3", "1", "4", "4"), &auto)
        .assert()
        .success();
    let manifest = fs::read_to_string(d.join("output/small-shard-2-of-4/manifest.toml")).unwrap();
    let table = concat!(
        "[shard]\nindex = 2\ncount = 4\ntotal_paths = 1000\n",
        "first_path = 500\nend_path = 750\n"
    );
    assert!(manifest.contains(table), "{manifest}");
    // A Kubernetes Indexed Job.
    in_batch(d, &[("JOB_COMPLETION_INDEX", "1")], &auto)
        .args(["--shards", "2"])
        .assert()
        .success();
    assert!(d.join("output/small-shard-1-of-2/tally.txt").is_file());
    // A resubmitted task (--array=3,17 of 100 shards) with --shards: the task id is the shard.
    in_batch(d, &slurm("17", "3", "17", "2"), &auto)
        .args(["--shards", "100"])
        .assert()
        .success();
    assert!(d.join("output/small-shard-17-of-100").is_dir());

    let refused = |vars: &[(&str, &str)], args: &[&str], needle: &str| {
        let before = snapshot(d);
        in_batch(d, vars, args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(needle));
        assert_eq!(snapshot(d), before);
    };
    let auto_of = |k: &'static str| [&auto[..], &["--shards", k]].concat();
    refused(&[], &auto, "neither SLURM_ARRAY_TASK_ID");
    refused(
        &slurm("5", "1", "9", "3"),
        &auto,
        "not one contiguous range",
    );
    refused(&[("JOB_COMPLETION_INDEX", "1")], &auto, "--shards K");
    refused(&[("JOB_COMPLETION_INDEX", "2")], &auto_of("2"), "not below");
    refused(&[("JOB_COMPLETION_INDEX", "x")], &auto_of("2"), "'x'");
    let with_first_path = [&auto[..], &["--first-path", "5"]].concat();
    refused(&slurm("0", "0", "1", "2"), &with_first_path, "--first-path");
    refused(&[], &["--paths", "3", "--shard", "0/4"], "at most 3 shards");
    refused(&[], &["--shard", "4/4"], "I must be below K");
    refused(
        &[],
        &["--shard", "0/4", "--shards", "4"],
        "--shard I/K names K",
    );
}

fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Moves one path of the first outcome with paths at two steps from the earlier step to the
/// later: the counts stay consistent, and the tables change.
fn move_one_path(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("outcome ") && l.split(' ').skip(2).filter(|w| *w != "0").count() > 1
        })
        .unwrap();
    let mut words: Vec<String> = line.split(' ').map(String::from).collect();
    let first = (2..words.len()).find(|&i| words[i] != "0").unwrap();
    let count: u64 = words[first].parse().unwrap();
    let later: u64 = words[first + 1].parse().unwrap();
    words[first] = (count - 1).to_string();
    words[first + 1] = (later + 1).to_string();
    text.replacen(line, &words.join(" "), 1)
}

/// Recomputes the checksum line, as a careless tool might after an edit.
fn reseal(text: &str) -> String {
    let body = &text[..text.trim_end().rfind('\n').unwrap() + 1];
    let sum = pathcast::export::manifest::sha256_hex(body);
    format!("{body}sha256 {sum}\n")
}

#[test]
fn shards_of_events_that_end_merge_to_the_bytes_of_one_run() {
    // Spells in effect and repeated starts are counted in the tally too, and merge exactly.
    let dir = setup();
    let d = dir.path();
    let text = common::SMALL_SCENARIO.replace(
        "[events.sanctions]",
        "[events.talks.ends]\np = 0.3\n\n[events.sanctions]",
    );
    fs::write(d.join("small.toml"), text).unwrap();
    run(d, "single", PATHS, 4, &[]);
    let folders: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
    for (i, folder) in folders.iter().enumerate() {
        shard(d, folder, i as u64, 3, PATHS, 4);
    }
    merge(d, &folders, "merged");
    assert_same_as(d, "single", "merged");
    let timeline = fs::read_to_string(d.join("merged/timeline.csv")).unwrap();
    assert!(timeline
        .lines()
        .next()
        .unwrap()
        .ends_with(",talks.in_effect"));
}
