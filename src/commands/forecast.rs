//! The forecasting commands: `ask`, `calibrate`, `score`, and the target check of `check`.
//! Wiring only: the work is in `pathcast::forecast`.

use super::analyses::{analysis_settings, pool};
use super::{cancel_flag, command_line, load, wrote};
use crate::cli::{self, AnalysisArgs, AskArgs, CalibrateArgs, CheckArgs, ScoreArgs};
use anyhow::Context;
use pathcast::analysis::{MethodChoice, MonteCarlo, Used};
use pathcast::error::SettingError;
use pathcast::forecast::{
    self, calibrate, input::Table, score, targets, Answered, Deadline, Engine, Mode, Question,
    TargetsUnmet,
};
use pathcast::job::{self, AnalysisOutput, RunSettings};
use pathcast::output::progress_bar;
use pathcast::{exact, scenario};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;

fn limits(max_states: u64) -> exact::Limits {
    exact::Limits {
        max_states: max_states as usize,
        ..exact::Limits::default()
    }
}

/// Answers `questions` with the method the flags ask for, showing simulated paths.
fn answer(
    loaded: &scenario::Loaded,
    args: &AnalysisArgs,
    questions: &[Question],
    progress: progress_bar::Mode,
) -> anyhow::Result<(Vec<forecast::Answer>, Used, usize)> {
    let model = &loaded.model;
    let pool = pool(args.simulation.threads, &[model])?;
    let cancel: std::sync::Arc<AtomicBool> = cancel_flag();
    let engine = Engine {
        choice: match args.method {
            cli::Method::Auto => MethodChoice::Auto,
            cli::Method::Exact => MethodChoice::Exact,
            cli::Method::MonteCarlo => MethodChoice::MonteCarlo,
        },
        limits: limits(args.max_states),
        monte_carlo: MonteCarlo {
            paths: args.simulation.paths.unwrap_or(model.paths()),
            seed: args.simulation.seed.unwrap_or(model.seed()),
        },
        pool: &pool,
        cancel: &cancel,
    };
    let bar = progress_bar::new(engine.monte_carlo.paths, progress);
    let result = engine.answer(model, questions, |done| bar.set_position(done));
    bar.finish_and_clear();
    let (answers, used) = result?;
    Ok((answers, used, pool.current_num_threads()))
}

/// "exact" or "Monte Carlo, 100000 paths, seed 7".
fn method_text(used: Used) -> String {
    match used {
        Used::Exact => "exact".into(),
        Used::MonteCarlo { paths, seed } => format!("Monte Carlo, {paths} paths, seed {seed}"),
    }
}

fn output(analysis: &'static str, used: Used, threads: usize) -> AnalysisOutput<'static> {
    AnalysisOutput {
        analysis,
        used,
        threads,
        merged_shards: Vec::new(),
    }
}

pub fn ask(args: AskArgs, progress: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let Some(file) = &args.questions else {
        let text = args.question.as_deref().unwrap_or_default();
        let (mode, flag, written) = match (&args.by, &args.at) {
            (Some(by), None) => (Mode::By, "--by", by),
            (None, Some(at)) => (Mode::At, "--at", at),
            _ => {
                return Err(SettingError(
                    "give the deadline: --by STEP|DATE (at some point up to it) or --at \
                     STEP|DATE (at that moment)"
                        .into(),
                )
                .into())
            }
        };
        let deadline =
            Deadline::parse(written).map_err(|m| SettingError(format!("{flag} {written}: {m}")))?;
        let question = Question::new(model, text, mode, deadline).map_err(|e| {
            SettingError(match e {
                forecast::question::QuestionError::Deadline(m) => format!("{flag} {written}: {m}"),
                other => format!("question {}: {other}", scenario::echo(text)),
            })
        })?;
        let (answers, used, _) = answer(
            &loaded,
            &args.analysis,
            std::slice::from_ref(&question),
            progress,
        )?;
        let a = answers[0];
        let interval = a
            .interval
            .map(|(l, h)| format!(", 95% interval {:.4} to {:.4}", l, h))
            .unwrap_or_default();
        println!(
            "P({} {} {}) = {:.6}{interval}",
            question.text,
            mode.name(),
            question.deadline,
            a.probability
        );
        let through = model
            .end_date_of(question.step)
            .map(|d| format!(" (through {d})"))
            .unwrap_or_default();
        println!(
            "{}; counts steps 1 to {}{through}",
            method_text(used),
            question.step
        );
        return Ok(());
    };
    let table = Table::read(file, &["id", "question", "by"])?;
    let mut ids = std::collections::HashSet::new();
    let mut questions = Vec::new();
    let mut names = Vec::new();
    for row in &table.rows {
        let id = table.cell(row, "id");
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(table
                .error(row, "id", format!("'{id}' is empty or used twice"))
                .into());
        }
        questions.push(table.question(row, model).map_err(|e| e.into_error())?);
        names.push(id.to_string());
    }
    let (answers, used, threads) = answer(&loaded, &args.analysis, &questions, progress)?;
    let answered: Vec<Answered> = names
        .into_iter()
        .zip(questions)
        .zip(answers)
        .map(|((id, question), answer)| Answered {
            id,
            question,
            answer,
        })
        .collect();
    print!("{}", forecast::render_answers(model, &answered));
    let written = job::write_analysis(
        &[("", &loaded)],
        &analysis_settings(&args.analysis.simulation),
        &output("ask", used, threads),
        vec![("answers.csv", forecast::answers_table(model, &answered))],
    )?;
    println!(
        "\n{} questions ({}); {}",
        answered.len(),
        method_text(used),
        wrote(&written)
    );
    Ok(())
}

/// `check`: validates and describes, then computes every target exactly.
pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    print!("{}", pathcast::output::describe::render(&loaded));
    println!("\nOK: the scenario is valid.");
    if loaded.targets.is_empty() {
        return Ok(());
    }
    let checked = targets::check(&loaded.model, &loaded.targets, &exact::Limits::default())
        .context("cannot compute the targets exactly")?;
    println!("\nTargets (computed exactly):");
    print!("{}", targets::render(&loaded.model, &checked));
    let unmet = checked.iter().filter(|c| !c.met).count();
    if unmet == 0 {
        println!("All {} targets are met.", checked.len());
    } else if args.strict_targets {
        return Err(TargetsUnmet {
            unmet,
            total: checked.len(),
        }
        .into());
    } else {
        println!("{unmet} of {} targets are NOT met.", checked.len());
    }
    Ok(())
}

pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    if !args.scenario.sets.is_empty() {
        return Err(SettingError(
            "calibrate fits the scenario as written; put --set values in a file that extends it"
                .into(),
        )
        .into());
    }
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let chosen = calibrate::plan(model, &args.fit, &loaded.targets)?;
    let limits = limits(args.max_states);
    let fit = calibrate::fit(model, &chosen, &loaded.targets, &limits)?;
    let settings = RunSettings {
        out: args.out.clone(),
        force: args.force,
        command: command_line(),
        ..RunSettings::default()
    };
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| job::default_out(&loaded, "-calibrate"));
    let extends = extends_path(&loaded, &out)?;
    let file = calibrate::scenario_file(model, &extends, &fit, &loaded.targets, &command_line());
    let before = targets::check(model, &loaded.targets, &limits)?;
    let after = targets::check(&fit.model, &loaded.targets, &limits)?;
    println!("Fitted parameters ({} iterations):", fit.iterations);
    for (parameter, value) in &fit.parameters {
        println!("  {}: {} -> {}", parameter.key, parameter.value, value);
    }
    println!("\nTargets before:");
    print!("{}", targets::render(model, &before));
    println!("\nTargets after:");
    print!("{}", targets::render(&fit.model, &after));
    let unmet: Vec<String> = after
        .iter()
        .filter(|c| !c.met)
        .map(|c| c.target.describe())
        .collect();
    let written = job::write_analysis(
        &[("", &loaded)],
        &settings,
        &output("calibrate", Used::Exact, 1),
        vec![
            ("calibrated.toml", Ok(file.into_bytes())),
            ("targets.csv", targets::table_bytes(model, &before, &after)),
            ("fitted.csv", calibrate::fitted_table(&fit)),
        ],
    )?;
    if unmet.is_empty() {
        println!("\nEvery target is met.");
    } else {
        println!("\nCould not meet: {}", unmet.join("; "));
    }
    println!(
        "{}; run the fitted scenario with `pathcast check {}`",
        wrote(&written),
        written.out.join("calibrated.toml").display()
    );
    Ok(())
}

/// How the fitted file in `out` names the scenario it extends: a built-in preset by name, a
/// file by its path relative to `out`.
fn extends_path(loaded: &scenario::Loaded, out: &Path) -> anyhow::Result<String> {
    let root = &loaded.files[0];
    if let Some(preset) = root.strip_prefix("preset ") {
        return Ok(preset.to_string());
    }
    let file = std::fs::canonicalize(root).with_context(|| format!("cannot find {root}"))?;
    let out = std::path::absolute(out).with_context(|| format!("cannot use {}", out.display()))?;
    // The deepest folder of `out` that exists, canonical; the rest of `out` is appended as is.
    let mut existing = out.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name().map(PathBuf::from).unwrap_or_default());
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let mut out = std::fs::canonicalize(existing)?;
    out.extend(rest.iter().rev());
    let (a, b): (Vec<Component>, Vec<Component>) =
        (file.components().collect(), out.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut relative = PathBuf::new();
    for _ in common..b.len() {
        relative.push("..");
    }
    relative.extend(&a[common..]);
    Ok(relative.to_string_lossy().into_owned())
}

pub fn score(args: ScoreArgs, progress: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let (resolutions, skipped) = score::read(&args.resolutions, model)?;
    if resolutions.is_empty() {
        return Err(SettingError(format!(
            "{}: no question could be scored (each names ids this scenario does not have)",
            args.resolutions.display()
        ))
        .into());
    }
    let questions: Vec<Question> = resolutions.iter().map(|r| r.question.clone()).collect();
    let (answers, used, threads) = answer(&loaded, &args.analysis, &questions, progress)?;
    let scored: Vec<score::Scored> = resolutions
        .into_iter()
        .zip(answers)
        .map(|(r, a)| score::score_one(r, a.probability))
        .collect();
    let totals = score::totals(&scored);
    let bins = score::calibration(&scored);
    print!("{}", score::render(&scored, &totals, &bins, &skipped));
    let written = job::write_analysis(
        &[("", &loaded)],
        &analysis_settings(&args.analysis.simulation),
        &output("score", used, threads),
        vec![
            (score::SCORES, score::scores_table(model, &scored)),
            (score::TOTALS, score::totals_table(&totals)),
            (score::CALIBRATION, score::calibration_table(&bins)),
            (score::SKIPPED, score::skipped_table(&skipped)),
        ],
    )?;
    println!(
        "\n{} questions scored ({}); {}",
        scored.len(),
        method_text(used),
        wrote(&written)
    );
    Ok(())
}
