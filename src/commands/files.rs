//! `merge`, `trace`, `export`, `list` and `init`.

use super::*;

pub(crate) fn run_merge(args: MergeArgs) -> anyhow::Result<()> {
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
    print!("{}", merged.summary);
    println!(
        "\nmerged {} shards; {}",
        merged.shards,
        wrote(&merged.written)
    );
    Ok(())
}

pub(crate) fn run_trace(args: TraceArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.model.seed());
    let path = args.index.or(args.path).unwrap_or_default();
    print!("{}", trace::render(&loaded.model, seed, path));
    Ok(())
}

pub(crate) fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    use std::io::Write;
    // `--prism` is the default; `--json` is the other format.
    let _ = args.prism;
    let loaded = load(&args.scenario)?;
    let text = if args.json {
        pathcast::export::json::to_json(&loaded.model)
    } else {
        let mut notes = vec![format!("read from: {}", loaded.files.join(", "))];
        notes.extend(args.scenario.sets.iter().map(|set| format!("--set {set}")));
        pathcast::export::prism::to_prism_with_notes(&loaded.model, &notes)
    };
    let Some(path) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return Ok(stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())?);
    };
    pathcast::export::write_file(&path, text.as_bytes(), &job::protected(&loaded))?;
    println!("wrote {}", printable(&path.display().to_string()));
    Ok(())
}

pub(crate) fn list() {
    let mut rows = vec![vec!["preset".to_string(), "title".to_string()]];
    for name in scenario::presets::names() {
        let title = scenario::load_preset(name, &[])
            .map(|l| l.model.title().to_string())
            .unwrap_or_else(|e| format!("(invalid: {e})"));
        rows.push(vec![name.to_string(), title]);
    }
    print!("{}", table(&rows));
    println!("\nRun one with `pathcast run <preset>`; a preset name uses ./scenarios/<preset>.toml when that file exists.");
}

pub(crate) fn run_init(args: cli::InitArgs) -> anyhow::Result<()> {
    let base = load(&ScenarioArgs {
        scenario: args.from.clone(),
        sets: Vec::new(),
    })?;
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `extends` names a preset, or a file beside the new one.
    let from = std::path::Path::new(&args.from);
    let extends = if scenario::presets::get(&args.from).is_some() && !from.exists() {
        args.from.clone()
    } else {
        let beside = |p: &std::path::Path| {
            std::fs::canonicalize(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(".".as_ref()),
            )
            .ok()
        };
        if beside(from) != beside(&args.file) {
            return Err(SettingError(format!(
                "--from {}: a scenario extends a preset or a file in its own folder; write {} \
                 beside it",
                args.from,
                args.file.display()
            ))
            .into());
        }
        from.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if args.file.exists() && !args.overwrite {
        return Err(SettingError(format!(
            "{}: the file exists; nothing was written (add --overwrite to replace it)",
            args.file.display()
        ))
        .into());
    }
    let text = scenario::starter::text(&scenario::starter::id_from(&stem), &extends, &base.model);
    pathcast::export::write_file(&args.file, text.as_bytes(), &job::protected(&base))?;
    println!(
        "wrote {}: it extends '{extends}'; edit it, then `pathcast run {}`",
        printable(&args.file.display().to_string()),
        printable(&args.file.display().to_string())
    );
    Ok(())
}
