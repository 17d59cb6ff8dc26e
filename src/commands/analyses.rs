//! `sensitivity`, `sweep` and `compare`.

use super::*;

/// The thread pool of an analysis whose threads each simulate `models` side by side.
pub(crate) fn pool(
    threads: Option<u64>,
    models: &[&pathcast::Model],
) -> anyhow::Result<rayon::ThreadPool> {
    let per_thread = models
        .iter()
        .map(|m| pathcast::simulate::bytes_per_thread(m, false))
        .sum();
    let (pool, note) = job::worker_pool(threads.map(|t| t as usize), per_thread)?;
    print_notes(note.as_slice());
    Ok(pool)
}

pub(crate) fn analysis_settings(simulation: &SimulationArgs) -> RunSettings {
    RunSettings {
        paths: simulation.paths,
        seed: simulation.seed,
        threads: simulation.threads.map(|t| t as usize),
        out: simulation.out.clone(),
        force: simulation.force,
        command: command_line(),
        ..RunSettings::default()
    }
}

/// Runs `work` with an evaluator of `loaded` and a progress bar of the paths it simulates.
pub(crate) fn analyse<T>(
    loaded: &scenario::Loaded,
    args: &AnalysisArgs,
    analysis_name: &'static str,
    variants: u64,
    mode: progress_bar::Mode,
    work: impl FnOnce(&Evaluator<'_>, Option<analysis::Evaluated>) -> anyhow::Result<T>,
) -> anyhow::Result<(T, job::AnalysisOutput<'static>)> {
    let model = &loaded.model;
    let monte_carlo = MonteCarlo {
        paths: args.simulation.paths.unwrap_or(model.paths()),
        seed: args.simulation.seed.unwrap_or(model.seed()),
    };
    let choice = method_choice(args.method);
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    // A sensitivity simulates a low and a high variant side by side on each thread.
    let pool = pool(args.simulation.threads, &[model, model])?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(monte_carlo.paths.saturating_mul(variants), mode);
    let progress = |more: u64| bar.inc(more);
    let (evaluator, base) = Evaluator::new(
        model,
        choice,
        limits,
        monte_carlo,
        &pool,
        &cancel,
        &progress,
    )?;
    if evaluator.used() == analysis::Used::Exact {
        // Nothing is simulated: no progress of paths.
        bar.hide();
    }
    let result = work(&evaluator, base);
    bar.finish_and_clear();
    let used = evaluator.used();
    let output = job::AnalysisOutput {
        analysis: analysis_name,
        used,
        threads: evaluator.threads(),
        merged_shards: Vec::new(),
    };
    Ok((result?, output))
}

pub(crate) fn run_sensitivity(
    args: SensitivityArgs,
    mode: progress_bar::Mode,
) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let wanted = analysis::sensitivity::Settings {
        only: args.only.clone(),
        ranges: args.range.clone(),
        events: args.events,
    };
    let plan = analysis::sensitivity::plan(model, &wanted)?;
    let outcome = match &args.outcome {
        Some(id) => model
            .outcomes()
            .iter()
            .find(|o| &o.id == id)
            .map(|o| o.id.clone())
            .ok_or_else(|| {
                SettingError(format!(
                    "--outcome {id}: the scenario has no such outcome (outcomes: {})",
                    model
                        .outcomes()
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None => model.outcomes()[0].id.clone(),
    };
    let started = Instant::now();
    let settings = analysis_settings(&args.analysis.simulation);
    if let Some(shard) = shard_of(&args.sharding, Unit::Parameters, plan.len() as u64)? {
        let mine = &plan[shard.first as usize..shard.end as usize];
        let ((base, swung), output) = analyse(
            &loaded,
            &args.analysis,
            "sensitivity",
            2 * mine.len() as u64 + 1,
            mode,
            |e, base| {
                let base = analysis::sensitivity::base(model, e, base)?;
                Ok((base, analysis::sensitivity::evaluate(model, mine, e)?))
            },
        )?;
        let units = mine
            .iter()
            .zip(&swung)
            .map(|(varied, s)| units_file::write_swung(model, varied, s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let definition = units_file::sensitivity_definition(model, &plan, args.events, &base);
        return write_shard(
            &loaded, &settings, &output, &shard, definition, &units, started,
        );
    }
    let (result, output) = analyse(
        &loaded,
        &args.analysis,
        "sensitivity",
        2 * plan.len() as u64 + 1,
        mode,
        |e, base| analysis::sensitivity::run(model, &plan, args.events, e, base),
    )?;
    print!("{}", pathcast::output::analysis::tornado(&result, &outcome));
    let written = job::write_analysis(
        &[("", &loaded)],
        &settings,
        &output,
        analysis_tables::sensitivity_files(&loaded, &result),
    )?;
    println!(
        "\n{} parameters, each low and high, in {:.2} s; {}",
        result.parameters,
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

/// Writes a shard of an analysis (its `units`, and the `definition` that merging checks) and
/// prints its last line.
fn write_shard(
    loaded: &scenario::Loaded,
    settings: &RunSettings,
    output: &job::AnalysisOutput<'_>,
    shard: &ShardOfRun,
    definition: String,
    units: &[String],
    started: Instant,
) -> anyhow::Result<()> {
    let written = job::write_analysis_shard(loaded, settings, output, shard, definition, units)?;
    println!(
        "{}\n\nin {:.2} s; {}",
        shard_line(shard),
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

pub(crate) fn run_sweep(args: SweepArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let axes = analysis::sweep::plan(model, &args.vary)?;
    let points = analysis::sweep::points(&axes);
    let started = Instant::now();
    let settings = analysis_settings(&args.analysis.simulation);
    if let Some(shard) = shard_of(&args.sharding, Unit::Points, points as u64)? {
        let range = shard.first as usize..shard.end as usize;
        let (evaluated, output) = analyse(
            &loaded,
            &args.analysis,
            "sweep",
            range.len() as u64,
            mode,
            |e, _| analysis::sweep::evaluate(model, &axes, range.clone(), e),
        )?;
        let units = range
            .zip(&evaluated)
            .map(|(i, e)| {
                let point = analysis::sweep::point_model(model, &axes, i)?;
                let mut lines = String::new();
                units_file::write_evaluated(&mut lines, &point, e);
                Ok(lines)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let definition = units_file::sweep_definition(&axes);
        return write_shard(
            &loaded, &settings, &output, &shard, definition, &units, started,
        );
    }
    let (result, output) = analyse(
        &loaded,
        &args.analysis,
        "sweep",
        points as u64,
        mode,
        |e, _| analysis::sweep::run(model, axes, e),
    )?;
    print!("{}", pathcast::output::analysis::sweep(&result, model));
    let written = job::write_analysis(
        &[("", &loaded)],
        &settings,
        &output,
        analysis_tables::sweep_files(&loaded, &result),
    )?;
    println!(
        "\n{points} points in {:.2} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

pub(crate) fn run_compare(args: CompareArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    if args.shard.is_some() {
        return Err(SettingError(
            "--shard: compare is not sharded. Its shards would have to carry the pairs of \
             paths of every scenario against the first and every scenario's file, which the \
             shard files do not hold; shard a `pathcast run` of each scenario with the same \
             --paths and --seed instead (each merges to its exact tables), or compare with \
             fewer --paths: pairing narrows the intervals (docs/sharding.md)"
                .into(),
        )
        .into());
    }
    let mut scenarios: Vec<scenario::Loaded> = Vec::new();
    for spec in &args.scenarios {
        scenarios.push(load(&ScenarioArgs {
            scenario: spec.clone(),
            sets: Vec::new(),
        })?);
    }
    for variant in &args.variant {
        let sets: Vec<String> = variant.split(';').map(|s| s.trim().to_string()).collect();
        scenarios.push(load(&ScenarioArgs {
            scenario: args.scenarios[0].clone(),
            sets,
        })?);
    }
    if scenarios.len() < 2 {
        return Err(SettingError(
            "compare needs two scenarios or more: give another scenario, or a --variant of the \
             first"
                .into(),
        )
        .into());
    }
    let mut names: Vec<String> = scenarios.iter().map(job::variant_name).collect();
    for i in 0..names.len() {
        if names[..i].contains(&names[i]) {
            names[i] = format!("{}#{}", names[i], i + 1);
        }
    }
    let reference = &scenarios[0].model;
    let paths = args.simulation.paths.unwrap_or(reference.paths());
    let seed = args.simulation.seed.unwrap_or(reference.seed());
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    let models: Vec<&pathcast::Model> = scenarios.iter().map(|l| &l.model).collect();
    let pool = pool(args.simulation.threads, &models)?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(paths, mode);
    let list: Vec<analysis::compare::Scenario<'_>> = scenarios
        .iter()
        .zip(&names)
        .map(|(l, name)| analysis::compare::Scenario {
            name: name.clone(),
            model: &l.model,
        })
        .collect();
    let started = Instant::now();
    let result = analysis::compare::run(&list, paths, seed, &limits, &pool, &cancel, |done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    let result = result?;
    print!("{}", pathcast::output::analysis::compare(&result));
    let output = job::AnalysisOutput {
        analysis: "compare",
        used: analysis::Used::MonteCarlo { paths, seed },
        threads: pool.current_num_threads(),
        merged_shards: Vec::new(),
    };
    let named: Vec<(&str, &scenario::Loaded)> = names
        .iter()
        .map(String::as_str)
        .zip(scenarios.iter())
        .collect();
    let written = job::write_analysis(
        &named,
        &analysis_settings(&args.simulation),
        &output,
        vec![
            (analysis_tables::COMPARE, analysis_tables::compare(&result)),
            (html::FILE, Ok(html::compare(&scenarios[0], &result))),
        ],
    )?;
    println!(
        "\n{} scenarios in {:.2} s; {}",
        scenarios.len(),
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}
