mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command};
use pathcast::error::{SettingError, ShardError};
use pathcast::job::Interrupted;
use pathcast::output::progress_bar;
use pathcast::text::message;
use pathcast::{scenario, OutputError, ScenarioError};
use std::process::ExitCode;

const EXIT_FAILURE: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_DISAGREE: u8 = 3;
const EXIT_TARGETS_UNMET: u8 = 4;
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: pathcast's own text, on stdout.
        Err(err) if !err.use_stderr() => err.exit(),
        Err(err) => {
            if let Some(text) = never_guess_force(&err) {
                for line in text.lines() {
                    eprintln!("{}", message(line));
                }
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            // Clap quotes the offending argument as typed: escaped, like every message.
            for line in err.render().to_string().trim_end().lines() {
                eprintln!("{}", message(line));
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            // Messages quote files and arguments: escaped and capped, like all they print.
            eprintln!("error: {}", message(&chain.join(": ")));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// `--force` writes into folders that hold other files: clap must not suggest it (and put it in
/// a usage line to copy) for a mistyped flag such as `--forc` or `--format`.
fn never_guess_force(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let suggests_force = match err.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => s.contains("--force"),
        Some(ContextValue::Strings(list)) => list.iter().any(|s| s.contains("--force")),
        _ => false,
    };
    if !suggests_force {
        return None;
    }
    let typed = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => "the argument".to_string(),
    };
    Some(format!(
        "error: unexpected argument '{typed}' found\n\n  (pathcast never guesses --force, which \
         writes into a folder that holds other files; type it in full if that is what you \
         mean)\n\nFor more information, try '--help'."
    ))
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.is::<Interrupted>() {
        EXIT_INTERRUPTED
    } else if err.is::<Disagreement>() {
        EXIT_DISAGREE
    } else if err.is::<pathcast::forecast::TargetsUnmet>() {
        EXIT_TARGETS_UNMET
    } else if err.is::<ScenarioError>()
        || err.is::<SettingError>()
        || err.is::<ShardError>()
        || err.is::<pathcast::forecast::InputError>()
        || matches!(err.downcast_ref(), Some(OutputError::BadOut { .. }))
    {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let mode = if cli.quiet {
        progress_bar::Mode::Quiet
    } else {
        progress_bar::Mode::Auto
    };
    match cli.command {
        Command::Run(args) => commands::run(args, mode),
        Command::Exact(args) => commands::run_exact(args, mode),
        Command::Check(args) => commands::forecast::check(args),
        Command::Trace(args) => commands::run_trace(args),
        Command::List => {
            commands::list();
            Ok(())
        }
        Command::Export(args) => commands::run_export(args),
        Command::Params(args) => {
            let loaded = commands::load(&args)?;
            print!("{}", pathcast::output::analysis::params(&loaded.model));
            Ok(())
        }
        Command::Sensitivity(args) => commands::run_sensitivity(args, mode),
        Command::Sweep(args) => commands::run_sweep(args, mode),
        Command::Compare(args) => commands::run_compare(args, mode),
        Command::Merge(args) => commands::run_merge(args),
        Command::Show(args) => {
            let text = scenario::presets::get(&args.preset)
                .ok_or_else(|| SettingError(scenario::presets::unknown(&args.preset)))?;
            print!("{text}");
            Ok(())
        }
        Command::Init(args) => commands::run_init(args),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "pathcast", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Ask(args) => commands::forecast::ask(args, mode),
        Command::Calibrate(args) => commands::forecast::calibrate(args),
        Command::Score(args) => commands::forecast::score(args, mode),
    }
}
