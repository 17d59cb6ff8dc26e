mod cli;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, ExactArgs, ExportArgs, MergeArgs, RunArgs, ScenarioArgs, TraceArgs};
use pathcast::error::{SettingError, ShardError};
use pathcast::job::{self, Interrupted, RunSettings};
use pathcast::output::{describe, progress_bar, summary, table, trace};
use pathcast::{compare, exact, scenario, OutputError, ScenarioError};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

const EXIT_FAILURE: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_DISAGREE: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

/// Monte Carlo and exact disagree beyond the threshold.
#[derive(Debug, thiserror::Error)]
#[error(
    "Monte Carlo and exact results disagree beyond {0:.2} standard errors (see the table above)"
)]
struct Disagreement(f64);

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`pathcast check x | head`) instead of failing to print.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::from(exit_code(&err))
        }
    }
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.is::<Interrupted>() {
        EXIT_INTERRUPTED
    } else if err.is::<Disagreement>() {
        EXIT_DISAGREE
    } else if err.is::<ScenarioError>()
        || err.is::<SettingError>()
        || err.is::<ShardError>()
        || matches!(err.downcast_ref(), Some(OutputError::BadFolder { .. }))
    {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Exact(args) => run_exact(args),
        Command::Check(args) => {
            let loaded = load(&args)?;
            print!("{}", describe::render(&loaded));
            println!("\nOK: the scenario is valid.");
            Ok(())
        }
        Command::Trace(args) => run_trace(args),
        Command::List => {
            list();
            Ok(())
        }
        Command::Export(args) => run_export(args),
        Command::Merge(args) => run_merge(args),
    }
}

fn load(args: &ScenarioArgs) -> anyhow::Result<scenario::Loaded> {
    let loaded = scenario::load(&args.scenario, &args.sets)?;
    for note in &loaded.notes {
        eprintln!("note: {note}");
    }
    Ok(loaded)
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Raised by Ctrl-C or SIGTERM; the run stops at the next wave and writes nothing.
fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only loses graceful interruption; the run itself is fine.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let mut settings = RunSettings {
        paths: args.paths,
        seed: args.seed,
        first_path: args.first_path,
        threads: args.threads.map(|t| t as usize),
        out: args.out,
        paths_csv: args.paths_csv,
        force: args.force,
        command: command_line(),
        shard: None,
    };
    if let Some(spec) = args.shard {
        pathcast::shard::plan(spec, args.shards, &loaded, &mut settings)?;
    }
    let paths = settings.paths.unwrap_or(loaded.model.paths);
    let cancel = cancel_flag();
    let bar = progress_bar::new(paths);
    let started = Instant::now();
    let result = job::run(&loaded, &settings, &cancel, |done| bar.set_position(done));
    bar.finish_and_clear();
    let finished = result?;
    let seconds = started.elapsed().as_secs_f64();
    print!("{}", summary::render(&loaded.model, &finished.report));
    println!(
        "\n{paths} paths in {seconds:.2} s ({:.1} million paths/s on {} threads); {}",
        paths as f64 / seconds / 1e6,
        finished.threads,
        wrote(&finished)
    );
    if args.check_exact {
        check_exact(&loaded, &finished.report, paths)?;
    }
    Ok(())
}

fn check_exact(
    loaded: &scenario::Loaded,
    report: &pathcast::report::Report,
    paths: u64,
) -> anyhow::Result<()> {
    let masses = exact::solve(&loaded.model, &exact::Limits::default())
        .context("cannot solve the scenario exactly for --check-exact")?;
    let exact_report = pathcast::report::Report::from_exact(&loaded.model, &masses);
    let (comparisons, limit) = compare::compare(report, &exact_report, paths);
    let mut rows = vec![[
        "",
        "id",
        "monte carlo",
        "exact",
        "std error",
        "difference",
        "verdict",
    ]
    .map(String::from)
    .to_vec()];
    for c in &comparisons {
        rows.push(vec![
            c.kind.to_string(),
            c.id.clone(),
            format!("{:.6}", c.estimate),
            format!("{:.6}", c.exact),
            format!("{:.6}", c.standard_error),
            format!("{:.2} se", c.sigmas),
            (if c.agrees { "ok" } else { "DISAGREE" }).to_string(),
        ]);
    }
    println!(
        "\nMonte Carlo against exact (threshold {limit:.2} standard errors for {} comparisons):",
        comparisons.len()
    );
    print!("{}", table(&rows));
    if comparisons.iter().all(|c| c.agrees) {
        println!("OK: every estimate agrees with the exact value.");
        Ok(())
    } else {
        Err(Disagreement(limit).into())
    }
}

fn run_exact(args: ExactArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let settings = RunSettings {
        out: args.out,
        force: args.force,
        command: command_line(),
        ..RunSettings::default()
    };
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    let started = Instant::now();
    let finished = job::exact(&loaded, &settings, &limits)?;
    print!("{}", summary::render(&loaded.model, &finished.report));
    println!(
        "\nsolved in {:.3} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&finished)
    );
    Ok(())
}

/// Where the results went, and whether they replaced an earlier run.
fn wrote(finished: &job::Finished) -> String {
    let verb = if finished.replaced_earlier {
        "replaced the earlier results in"
    } else {
        "wrote"
    };
    format!("{verb} {}", finished.out.display())
}

fn run_merge(args: MergeArgs) -> anyhow::Result<()> {
    let merged = pathcast::merge::merge(&pathcast::merge::MergeSettings {
        folders: args.folders,
        out: args.out,
        force: args.force,
        command: command_line(),
    })?;
    for (repeat, of) in &merged.duplicates {
        eprintln!(
            "note: {} repeats {} (the same paths and counts); counted once",
            repeat.display(),
            of.display()
        );
    }
    print!(
        "{}",
        summary::render(&merged.model, &merged.finished.report)
    );
    println!(
        "\nmerged {} shards; {}",
        merged.shards,
        wrote(&merged.finished)
    );
    Ok(())
}

fn run_trace(args: TraceArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.model.seed);
    print!("{}", trace::render(&loaded.model, seed, args.path));
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    use std::io::Write;
    anyhow::ensure!(args.prism, "choose the format to export: --prism");
    let loaded = load(&args.scenario)?;
    let mut notes = vec![format!("read from: {}", loaded.files.join(", "))];
    notes.extend(args.scenario.sets.iter().map(|set| format!("--set {set}")));
    let text = pathcast::export::prism::to_prism_with_notes(&loaded.model, &notes);
    let Some(path) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return Ok(stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())?);
    };
    // A temporary file in the same folder, renamed into place: the file is whole or absent.
    let io = |source| OutputError::Io {
        path: path.clone(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        // As any new file (0666 less the umask), not tempfile's private 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.suffix(".tmp").tempfile_in(dir).map_err(io)?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.as_file().sync_all())
        .map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn list() {
    let mut rows = vec![vec!["preset".to_string(), "title".to_string()]];
    for name in scenario::presets::names() {
        let title = scenario::load_preset(name, &[])
            .map(|l| l.model.title)
            .unwrap_or_else(|e| format!("(invalid: {e})"));
        rows.push(vec![name.to_string(), title]);
    }
    print!("{}", table(&rows));
    println!("\nRun one with `pathcast run <preset>`; a preset name uses ./scenarios/<preset>.toml when that file exists.");
}
