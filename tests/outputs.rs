//! Output folders: whole or absent, never mixed with an earlier run, never lost to a signal
//! or a full disk.

use predicates::prelude::*;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;

use crate::common;
use common::pathcast;

/// Everything under `dir`, as sorted relative paths.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn rerunning_the_same_scenario_replaces_the_folder_and_says_so() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--paths-csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote output/baseline"));
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "replaced the earlier results in output/baseline",
        ));
    let files = tree(&dir.path().join("output"));
    assert!(!files.iter().any(|f| f.contains("paths.csv")), "{files:?}");
    // Results are ordinary readable files, not private temporary ones.
    use std::os::unix::fs::PermissionsExt;
    for path in ["output/baseline", "output/baseline/outcomes.csv"] {
        let mode = fs::metadata(dir.path().join(path))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o044, 0o044, "{path} has mode {mode:o}");
    }
    assert!(
        !files.iter().any(|f| f.contains(".pathcast-")),
        "staging left: {files:?}"
    );
}

#[test]
fn another_scenarios_results_are_not_overwritten_without_force() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--out", "results"])
        .assert()
        .success();
    let before = fs::read(dir.path().join("results/outcomes.csv")).unwrap();
    pathcast(dir.path())
        .args(["run", "escalation", "--paths", "100", "--out", "results"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("results of scenario 'baseline'")
                .and(predicate::str::contains("--force")),
        );
    assert_eq!(
        fs::read(dir.path().join("results/outcomes.csv")).unwrap(),
        before
    );
    pathcast(dir.path())
        .args(["exact", "baseline", "--out", "results"])
        .assert()
        .code(2);
    pathcast(dir.path())
        .args([
            "run",
            "escalation",
            "--paths",
            "100",
            "--out",
            "results",
            "--force",
        ])
        .assert()
        .success();
    let manifest = fs::read_to_string(dir.path().join("results/manifest.toml")).unwrap();
    assert!(manifest.contains("scenario = \"escalation\""));
}

#[test]
fn a_folder_with_other_files_needs_force_and_keeps_them() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("mine");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), "keep me").unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--out", "mine"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a pathcast output folder"));
    assert_eq!(tree(&out), vec!["notes.txt"]);
    pathcast(dir.path())
        .args([
            "run", "baseline", "--paths", "100", "--out", "mine", "--force",
        ])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(out.join("outcomes.csv").is_file() && out.join("manifest.toml").is_file());
}

#[test]
fn the_scenarios_folder_is_never_an_output_folder() {
    let dir = TempDir::new().unwrap();
    let scenarios = dir.path().join("scenarios");
    fs::create_dir(&scenarios).unwrap();
    let text = pathcast::scenario::presets::get("baseline").unwrap();
    fs::write(scenarios.join("baseline.toml"), text).unwrap();
    for force in [false, true] {
        let mut cmd = pathcast(dir.path());
        cmd.args(["run", "baseline", "--paths", "100", "--out", "scenarios"]);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains("holds the scenario being run"));
    }
    assert_eq!(tree(&scenarios), vec!["baseline.toml"]);
}

#[test]
fn an_unwritable_output_folder_is_bad_input() {
    let dir = TempDir::new().unwrap();
    // Not even root can make a folder in /proc.
    pathcast(dir.path())
        .args([
            "run",
            "baseline",
            "--paths",
            "100",
            "--out",
            "/proc/pathcast-test/run",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("/proc/pathcast-test/run")
                .and(predicate::str::contains("cannot write there")),
        );
}

/// Starts a run of hours in `dir` and returns once it is writing its staging folder, so that a
/// signal sent then lands mid-run.
fn start_long_run(dir: &Path) -> std::process::Child {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pathcast"))
        .current_dir(dir)
        .args(["run", "baseline", "--paths", "100000000000", "--paths-csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while tree(dir).iter().all(|f| !f.contains(".pathcast-")) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Starts a long run, sends `signal` once it is under way, and checks that it stops within a
/// second, exits with 130 and leaves nothing behind.
fn interrupt_with(signal: libc::c_int) {
    let dir = TempDir::new().unwrap();
    let mut child = start_long_run(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    // SAFETY: kill with a valid pid and signal.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "did not stop after the signal"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stopped_in = sent.elapsed();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("no output was written"),
        "{stderr}"
    );
    assert!(stopped_in < Duration::from_secs(1), "took {stopped_in:?}");
    assert_eq!(
        tree(dir.path()),
        vec!["output"],
        "left behind: {:?}",
        tree(dir.path())
    );
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_nothing() {
    interrupt_with(libc::SIGINT);
}

#[test]
fn sigterm_stops_the_run_and_leaves_nothing() {
    interrupt_with(libc::SIGTERM);
}

/// Runs `command` under a limit of `bytes` on `resource` (and with SIGXFSZ ignored, so that a
/// write past a file-size limit fails with an error instead of killing the process).
fn limit(command: &mut std::process::Command, resource: libc::__rlimit_resource_t, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(resource, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// A file-size limit makes every write past it fail with "File too large", as a full disk
/// would, without needing a small filesystem.
#[test]
fn a_write_error_is_reported_with_the_path_and_leaves_nothing() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100"])
        .assert()
        .success();
    let before = fs::read(dir.path().join("output/baseline/outcomes.csv")).unwrap();
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("pathcast"));
    command
        .current_dir(dir.path())
        .args(["run", "baseline", "--paths", "200000", "--paths-csv"]);
    limit(&mut command, libc::RLIMIT_FSIZE, 1 << 20);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("output/baseline/paths.csv"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    // The earlier run is intact and no staging folder is left.
    assert_eq!(
        fs::read(dir.path().join("output/baseline/outcomes.csv")).unwrap(),
        before
    );
    let files = tree(&dir.path().join("output"));
    assert!(
        !files
            .iter()
            .any(|f| f.contains(".pathcast-") || f.contains("paths.csv")),
        "{files:?}"
    );
}

/// A real full disk: a 256 KiB tmpfs (needs root, as in CI; elsewhere it says so and stops).
#[test]
fn a_full_disk_is_reported_and_leaves_nothing() {
    let dir = TempDir::new().unwrap();
    let mount = dir.path().join("small");
    fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?); the file-size-limit test covers write errors");
        return;
    }
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("pathcast"))
        .current_dir(dir.path())
        .args([
            "run",
            "baseline",
            "--paths",
            "100000",
            "--paths-csv",
            "--out",
        ])
        .arg(mount.join("run"))
        .output()
        .unwrap();
    let listing = tree(&mount);
    let _ = std::process::Command::new("umount").arg(&mount).status();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("paths.csv") && stderr.contains("No space left"),
        "{stderr}"
    );
    assert!(listing.is_empty(), "left on the full disk: {listing:?}");
}

/// The small scenario with labels and a title that try to take over the terminal: set the
/// window title, clear the screen, change colours, reverse the text.
fn scenario_with_escape_sequences() -> String {
    const HOSTILE: &str = "\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31m forged \\u202e\\u0008";
    common::SMALL_SCENARIO
        .replace("title = \"Small\"", &format!("title = \"{HOSTILE}\""))
        .replace("label = \"Talks open\"", &format!("label = \"{HOSTILE}\""))
        .replace("label = \"Deal\"", &format!("label = \"{HOSTILE}\""))
        .replace("label = \"No deal\"", &format!("label = \"{HOSTILE}\""))
}

/// Whether `bytes` would do anything to a terminal but print characters and end lines.
fn raw_control(bytes: &[u8]) -> Option<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || c == '\u{202e}')
}

#[test]
fn labels_and_titles_are_escaped_in_everything_printed() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), scenario_with_escape_sequences()).unwrap();
    let commands: [&[&str]; 5] = [
        &["check", "s.toml"],
        &["trace", "s.toml", "--path", "0"],
        &["trace", "s.toml", "--path", "5"],
        &["run", "s.toml", "--paths", "1000", "--check-exact"],
        &["exact", "s.toml"],
    ];
    for args in commands {
        let output = pathcast(dir.path()).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        for stream in [&output.stdout, &output.stderr] {
            assert_eq!(raw_control(stream), None, "{args:?}: {output:?}");
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("\\u{1b}]0;pwned"), "{args:?}: {stdout}");
    }
}

/// An argument that is not UTF-8 (a file name may be any bytes) is recorded in the manifest
/// exactly, as a shell word, instead of crashing the run.
#[test]
fn an_output_folder_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"res\xff ults");
    let output = pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--out"])
        .arg(name)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(raw_control(&output.stdout), None);
    let manifest = fs::read_to_string(dir.path().join(name).join("manifest.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    let command = manifest["command"].as_str().unwrap();
    assert!(
        command.ends_with(r"run baseline --paths 100 --out $'res\xff ults'"),
        "{command}"
    );
}

/// Files and folders of the user's whose names end in `.tmp` are not pathcast's: a rerun
/// into the folder is refused (it would replace the folder), and `--force` keeps them.
#[test]
fn a_users_tmp_files_in_an_output_folder_are_never_deleted() {
    let dir = TempDir::new().unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = pathcast(dir.path());
        cmd.args(["run", "baseline", "--paths", "100", "--out", "results"])
            .args(extra);
        cmd.assert()
    };
    run(&[]).success();
    fs::write(dir.path().join("results/draft.tmp"), "mine").unwrap();
    fs::create_dir(dir.path().join("results/work.tmp")).unwrap();
    fs::write(dir.path().join("results/work.tmp/notes"), "mine").unwrap();
    run(&[])
        .code(2)
        .stderr(predicate::str::contains("is not a file of a pathcast run"));
    run(&["--force"]).success();
    assert_eq!(
        fs::read_to_string(dir.path().join("results/draft.tmp")).unwrap(),
        "mine"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("results/work.tmp/notes")).unwrap(),
        "mine"
    );
}

/// `--out` through a symbolic link writes into what it links to, and keeps the link.
#[test]
fn out_through_a_link_writes_to_its_target() {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
    for _ in 0..2 {
        pathcast(dir.path())
            .args(["run", "baseline", "--paths", "100", "--out", "link"])
            .assert()
            .success();
        let link = fs::symlink_metadata(dir.path().join("link")).unwrap();
        assert!(link.file_type().is_symlink());
        assert!(dir.path().join("real/manifest.toml").is_file());
    }
    assert_eq!(
        tree(dir.path())
            .iter()
            .filter(|f| f.contains(".pathcast-"))
            .count(),
        0
    );
    // The same for a file written by export.
    fs::write(dir.path().join("model.pm"), "old").unwrap();
    std::os::unix::fs::symlink("model.pm", dir.path().join("model-link.pm")).unwrap();
    pathcast(dir.path())
        .args(["export", "baseline", "--prism", "--out", "model-link.pm"])
        .assert()
        .success();
    assert!(fs::read_to_string(dir.path().join("model.pm"))
        .unwrap()
        .contains("dtmc"));
    assert!(fs::symlink_metadata(dir.path().join("model-link.pm"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A run killed outright (SIGKILL, or the out-of-memory killer) cannot clean up; the next run
/// into the same place removes what it left, and nothing else.
#[test]
fn the_staging_folder_of_a_killed_run_is_removed_by_the_next_run() {
    let dir = TempDir::new().unwrap();
    let mut child = start_long_run(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let left = tree(dir.path());
    assert!(left.iter().any(|f| f.contains(".pathcast-")), "{left:?}");
    // Another pathcast's staging, still held, and a name that only looks like one.
    fs::create_dir(dir.path().join("output/.baseline.pathcast-notapid")).unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100"])
        .assert()
        .success();
    let left = tree(&dir.path().join("output"));
    let staging: Vec<_> = left.iter().filter(|f| f.contains(".pathcast-")).collect();
    assert_eq!(staging, vec![".baseline.pathcast-notapid"], "{left:?}");
}

/// A scenario at the limits of the format: 64 events that can all happen on any of 3,650
/// days, and 64 outcomes.
fn largest_scenario() -> String {
    let mut text = String::from("[scenario]\nid = \"largest\"\nstep = \"day\"\nhorizon = 3650\n");
    for i in 0..64 {
        text.push_str(&format!("[events.e{i}]\nlabel = \"E{i}\"\np = 0.002\n"));
    }
    for i in 0..63 {
        text.push_str(&format!(
            "[outcomes.o{i}]\nlabel = \"O{i}\"\np = 0.0001\nwhen = \"e{i}\"\n"
        ));
    }
    text.push_str("[outcomes.end]\nlabel = \"End\"\n[horizon]\ndefault = \"end\"\n");
    text
}

/// `--threads 1024` on the largest scenario: the run uses as many threads as fit the
/// memory bound and says so. Its peak memory is measured (the largest child of this test
/// process, whose other children are small runs); an address-space limit makes a regression
/// fail instead of exhausting the machine.
#[test]
fn memory_is_bounded_whatever_the_thread_count() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("largest.toml"), largest_scenario()).unwrap();
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("pathcast"));
    command.current_dir(dir.path()).args([
        "run",
        "largest.toml",
        "--paths",
        "20000",
        "--paths-csv",
        "--threads",
        "1024",
    ]);
    limit(&mut command, libc::RLIMIT_AS, 12 << 30);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("not 1024"), "{stderr}");
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 1536, "peak memory {peak_mib} MiB");
}

/// Many events that stay possible: the exact solver works for a long time before it reaches
/// its work limit. SIGTERM stops it at once, as it stops a Monte Carlo run.
#[test]
fn sigterm_stops_the_exact_solver() {
    let dir = TempDir::new().unwrap();
    let text = common::independent_events("slow", 10000, 14, 0.001);
    fs::write(dir.path().join("slow.toml"), text).unwrap();
    for args in [
        &["exact", "slow.toml"][..],
        &[
            "run",
            "slow.toml",
            "--paths",
            "100000000000",
            "--check-exact",
        ],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pathcast"))
            .current_dir(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(child.try_wait().unwrap().is_none(), "{args:?} ended early");
        let sent = Instant::now();
        // SAFETY: kill with a valid pid and signal.
        assert_eq!(
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
            0
        );
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "{args:?}: {stderr}"
        );
        assert_eq!(output.status.code(), Some(130), "{args:?}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(tree(dir.path()), vec!["slow.toml"]);
    }
}

/// `run --check-exact` solves first: a scenario too large to solve is refused before the
/// Monte Carlo run (here 10^11 paths, hours of work), and nothing is written.
#[test]
fn check_exact_refuses_an_unsolvable_scenario_before_the_run() {
    let dir = TempDir::new().unwrap();
    let text = common::independent_events("wide", 2, 28, 0.5);
    fs::write(dir.path().join("wide.toml"), text).unwrap();
    pathcast(dir.path())
        .args([
            "run",
            "wide.toml",
            "--paths",
            "100000000000",
            "--check-exact",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exact solver"));
    assert_eq!(tree(dir.path()), vec!["wide.toml"]);
}

/// Labels that a spreadsheet would run as formulas are written as text (a leading `'`), in
/// every CSV file of `run` and `exact`.
#[test]
fn csv_cells_never_start_a_formula() {
    let text = common::SMALL_SCENARIO
        .replace(
            "label = \"Talks open\"",
            "label = \"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\"",
        )
        .replace("label = \"Sanctions\"", "label = \"+cmd|' /C calc'!A0\"")
        .replace("label = \"Deal\"", "label = \"-1+2\"")
        .replace("label = \"No deal\"", "label = \"@SUM(A1)\"");
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), text).unwrap();
    for args in [
        &["run", "s.toml", "--paths", "1000", "--paths-csv"][..],
        &["exact", "s.toml"],
    ] {
        pathcast(dir.path()).args(args).assert().success();
    }
    let mut labels = 0;
    for folder in ["output/small", "output/small-exact"] {
        for entry in fs::read_dir(dir.path().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "csv") {
                continue;
            }
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .from_path(&path)
                .unwrap();
            for record in reader.records() {
                for cell in record.unwrap().iter() {
                    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
                    assert!(
                        !formula || cell.parse::<f64>().is_ok(),
                        "{}: {cell:?}",
                        path.display()
                    );
                    labels += usize::from(cell == "'=HYPERLINK(\"http://x\",\"y\")");
                }
            }
        }
    }
    assert!(labels > 0, "the label is not written as text");
}

/// `conditional.csv` of `exact` given an event status of tiny or zero probability: `almost`
/// misses its one step (step 1, where no outcome can happen) with probability 10^-13, and
/// `certain` happens at step 2 on every path. Neither affects the outcomes, so given "almost
/// did not happen" the outcomes have the same probabilities as given that it happened (no
/// cancellation), and given "certain did not happen" the cells are empty.
#[test]
fn conditional_rows_of_tiny_and_impossible_conditions() {
    let text = common::SMALL_SCENARIO.replace(
        "[outcomes.deal]",
        "[events.almost]\nlabel = \"Almost sure\"\np = 0.9999999999999\nwindow = [1, 1]\n\n\
         [events.certain]\nlabel = \"Certain\"\np = 1.0\nwindow = [2, 2]\n\n[outcomes.deal]",
    );
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), text).unwrap();
    pathcast(dir.path())
        .args(["exact", "s.toml"])
        .assert()
        .success();
    let mut reader =
        ::csv::Reader::from_path(dir.path().join("output/small-exact/conditional.csv")).unwrap();
    // (event, happened, outcome) -> (probability_given, probability)
    let mut rows = std::collections::HashMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        let key = (r[0].to_string(), r[2].to_string(), r[5].to_string());
        rows.insert(key, (r[4].to_string(), r[8].to_string()));
    }
    let get = |event: &str, happened: &str, outcome: &str| {
        rows[&(event.to_string(), happened.to_string(), outcome.to_string())].clone()
    };
    for outcome in ["deal", "none"] {
        let number = |cell: String| cell.parse::<f64>().unwrap();
        let with = number(get("almost", "yes", outcome).1);
        let (given, without) = get("almost", "no", outcome);
        let (given, without) = (number(given), number(without));
        assert!(
            (with - without).abs() < 1e-9 * with,
            "{outcome}: {with} {without}"
        );
        assert!(
            (given - 1e-13).abs() < 1e-15,
            "P(almost did not happen) = {given}"
        );
        assert_eq!(get("certain", "no", outcome), ("0".into(), String::new()));
    }
}
