//! Scenario files: finding them, reading them, layering `extends` and `--set`, and checking
//! them into a [`Model`].

mod compile;
pub use compile::echo;
pub mod condition;
pub mod document;
pub mod presets;
pub mod source;
pub mod starter;

use crate::error::ScenarioError;
use crate::model::Model;
use document::Document;
use source::{file_error, read_file, Source, Sources};
use std::path::{Path, PathBuf};

/// A chain of `extends` longer than this is refused.
const MAX_EXTENDS_DEPTH: usize = 16;

/// A scenario ready to run, with what it was made from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub model: Model,
    /// The scenario with every layer applied, as a standalone scenario file.
    pub resolved: String,
    /// The files and presets it was read from, the one named first.
    pub files: Vec<String>,
    /// Things the user should know about how the scenario was found.
    pub notes: Vec<String>,
    /// The `--set` overrides applied, as given.
    pub overrides: Vec<String>,
    /// The calibration targets the scenario declares (`[[targets]]`).
    pub targets: Vec<crate::forecast::Target>,
}

/// Loads a scenario named by a file path or a preset name, applying `--set` overrides.
/// Relative paths and the local `scenarios/` folder are looked up from the current directory.
pub fn load(spec: &str, sets: &[String]) -> Result<Loaded, ScenarioError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    load_from(spec, sets, &cwd)
}

/// As [`load`], with `cwd` as the folder that relative paths start from.
pub fn load_from(spec: &str, sets: &[String], cwd: &Path) -> Result<Loaded, ScenarioError> {
    let mut notes = Vec::new();
    let root = find(spec, cwd, &mut notes)?;
    let mut loaded = load_source(root, sets)?;
    loaded.notes = notes;
    Ok(loaded)
}

/// Loads the built-in preset `name`, whatever the current folder holds.
pub fn load_preset(name: &str, sets: &[String]) -> Result<Loaded, ScenarioError> {
    let text = presets::get(name).ok_or_else(|| file_error(name, presets::unknown(name)))?;
    load_source(preset_source(name, text), sets)
}

fn load_source(root: Source, sets: &[String]) -> Result<Loaded, ScenarioError> {
    let mut sources = Sources::default();
    let root = sources.push(root);
    let mut chain = vec![sources.get(root).identity.clone()];
    let mut document = load_layers(&mut sources, root, &mut chain)?;
    for set in sets {
        let layer = set_layer(&mut sources, set)?;
        check_set_targets(&document, &layer, &sources)?;
        document.overlay(layer);
    }
    let model = compile::compile(&document, &sources)?;
    let targets = crate::forecast::targets::compile(
        document.targets.as_deref().unwrap_or_default(),
        &sources,
        &model,
    )?;
    let resolved = toml::to_string(&document).map_err(|e| {
        file_error(
            &sources.get(root).name,
            format!("cannot write resolved scenario: {e}"),
        )
    })?;
    let files = sources
        .0
        .iter()
        .filter(|s| !s.name.starts_with("--set"))
        .map(|s| s.name.clone())
        .collect();
    Ok(Loaded {
        model,
        resolved,
        files,
        notes: Vec::new(),
        overrides: sets.iter().map(|s| s.trim().to_string()).collect(),
        targets,
    })
}

fn file_source(path: &Path) -> Result<Source, ScenarioError> {
    let text = read_file(path)?;
    let identity = std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string());
    Ok(Source {
        name: path.display().to_string(),
        text,
        dir: Some(match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }),
        identity,
        has_lines: true,
    })
}

fn preset_source(name: &str, text: &str) -> Source {
    Source {
        name: format!("preset {name}"),
        text: text.to_string(),
        dir: None,
        identity: format!("preset {name}"),
        has_lines: true,
    }
}

/// A file path runs that file. A bare preset name runs `./scenarios/<name>.toml` when that
/// file exists (so that edits to a checkout's presets take effect), else the built-in preset.
fn find(spec: &str, cwd: &Path, notes: &mut Vec<String>) -> Result<Source, ScenarioError> {
    if cwd.join(spec).is_file() {
        return file_source(&as_typed(Path::new(spec), cwd));
    }
    let looks_like_path = spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml");
    if looks_like_path || presets::get(spec).is_none() {
        return Err(file_error(spec, presets::unknown(spec)));
    }
    // `spec` is a preset name here (no `.toml`, checked above).
    let (name, builtin) = (spec, presets::get(spec).unwrap_or_default());
    let local = Path::new("scenarios").join(format!("{name}.toml"));
    if cwd.join(&local).is_file() {
        let source = file_source(&as_typed(&local, cwd))?;
        if source.text != builtin {
            notes.push(format!(
                "using {} (it differs from the built-in preset '{name}'; \
                 run another folder's copy by giving its path)",
                local.display()
            ));
        }
        return Ok(source);
    }
    Ok(preset_source(name, builtin))
}

/// `path` relative to `cwd`, named as the user typed it when that names the same file (so
/// messages show `scenarios/x.toml`, not an absolute path).
fn as_typed(path: &Path, cwd: &Path) -> PathBuf {
    let joined = cwd.join(path);
    let same = std::fs::canonicalize(path).ok() == std::fs::canonicalize(&joined).ok();
    if same {
        path.to_path_buf()
    } else {
        joined
    }
}

fn parse(sources: &Sources, index: usize) -> Result<Document, ScenarioError> {
    let source = sources.get(index);
    let mut document: Document = toml::from_str(&source.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start).min(source.text.len());
        let line_start = source.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = source.text[line_start..].lines().next().unwrap_or("");
        let key = key_at(&source.text[..line_start], line);
        let place = sources.place(index, &(at..at));
        ScenarioError {
            place: if key.is_empty() {
                place
            } else {
                format!("{place}: {}", crate::text::excerpt(&key))
            },
            // One line: every message is printed escaped, so a line break would show as `\n`.
            message: format!(
                "{} (the line reads {})",
                e.message().trim_end(),
                compile::echo(line.trim())
            ),
        }
    })?;
    document.set_source(index);
    Ok(document)
}

/// The dotted key written on `line`, inside the last `[table]` header of `before`: a best
/// effort that names the key in TOML errors, which give only a position.
fn key_at(before: &str, line: &str) -> String {
    // A line that opens with `{` is an element of a list written over several lines (a piece
    // of a schedule): the key is the one that opened the list.
    let line = if line.trim_start().starts_with('{') {
        before
            .lines()
            .rev()
            .find(|l| l.contains('=') && l.trim_end().ends_with('['))
            .unwrap_or(line)
    } else {
        line
    };
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('[') && !k.starts_with('#'))
        .map(|k| k.replace(' ', ""));
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (None, Some(k)) => k,
        (_, None) if line.trim_start().starts_with('[') => line.trim().to_string(),
        _ => String::new(),
    }
}

/// Reads source `index` and everything it extends, parents first.
fn load_layers(
    sources: &mut Sources,
    index: usize,
    chain: &mut Vec<String>,
) -> Result<Document, ScenarioError> {
    let mut document = parse(sources, index)?;
    let Some(extends) = document.extends.take() else {
        return Ok(document);
    };
    let at = |sources: &Sources, message: String| {
        sources.error(index, &extends.span, "extends", message)
    };
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(at(
            sources,
            format!("chain of extends is deeper than {MAX_EXTENDS_DEPTH}"),
        ));
    }
    let parent = resolve_extends(sources.get(index), &extends.value).map_err(|m| at(sources, m))?;
    if let Some(position) = chain.iter().position(|id| *id == parent.identity) {
        let mut cycle = chain[position..].to_vec();
        cycle.push(parent.identity.clone());
        return Err(at(
            sources,
            format!("extends cycle: {}", cycle.join(" -> ")),
        ));
    }
    chain.push(parent.identity.clone());
    let parent_index = sources.push(parent);
    let mut base = load_layers(sources, parent_index, chain)?;
    chain.pop();
    base.overlay(document);
    Ok(base)
}

/// `extends` names a `.toml` file relative to the extending file's folder, or a built-in
/// preset. A scenario may come from someone else, so `extends` cannot name an absolute path,
/// and a file that does not look like a scenario is refused before it is parsed: its content
/// (a key file, `/proc/self/environ`) never reaches an error message.
fn resolve_extends(child: &Source, name: &str) -> Result<Source, String> {
    if Path::new(name).is_absolute() {
        return Err(format!(
            "'{name}' is an absolute path; extends names a file relative to this file's folder \
             (or a preset), so that a scenario reads the same files wherever it is"
        ));
    }
    if let Some(dir) = &child.dir {
        let path = dir.join(name);
        if name.ends_with(".toml") && path.is_file() {
            let source = file_source(&path).map_err(|e| e.to_string())?;
            if !looks_like_a_scenario(&source.text) {
                return Err(format!(
                    "'{name}' does not look like a scenario file (no [scenario], [events.*], \
                     [outcomes.*], [horizon] or extends), so it is not read; its content is not \
                     shown"
                ));
            }
            return Ok(source);
        }
        if path.is_file() {
            return Err(format!(
                "'{name}' is not a .toml file; extends names a scenario file (.toml) or a preset"
            ));
        }
    }
    let preset = name.strip_suffix(".toml").unwrap_or(name);
    match presets::get(preset) {
        Some(text) if !name.contains('/') => Ok(preset_source(preset, text)),
        _ => Err(format!(
            "cannot find '{name}'{} nor a preset of that name",
            child
                .dir
                .as_ref()
                .map(|d| format!(" in '{}'", d.display()))
                .unwrap_or_default()
        )),
    }
}

/// Whether `text` has a line that starts a scenario table or key: what any scenario file, even
/// one that changes a single value of its parent, has.
fn looks_like_a_scenario(text: &str) -> bool {
    const STARTS: [&str; 9] = [
        "[scenario",
        "[events",
        "[outcomes",
        "[horizon",
        "extends",
        "scenario.",
        "events.",
        "outcomes.",
        "horizon.",
    ];
    text.lines()
        .map(str::trim_start)
        .any(|line| STARTS.iter().any(|start| line.starts_with(start)))
}

/// `--set key=value` is one line of TOML; a value that is not valid TOML is taken as a string,
/// so that `--set events.x.when=a and b` works without quotes.
fn set_layer(sources: &mut Sources, set: &str) -> Result<Document, ScenarioError> {
    let name = format!("--set '{set}'");
    let Some((key, value)) = set.split_once('=') else {
        return Err(file_error(
            &name,
            "expected key=value, e.g. events.meeting.p=0.1",
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if set.contains(['\n', '\r']) {
        return Err(file_error(&name, "a --set is one line: key=value"));
    }
    let valid_key = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if !valid_key {
        return Err(file_error(
            &name,
            format!("'{key}' is not a key, e.g. events.meeting.p"),
        ));
    }
    if key == "extends" {
        return Err(file_error(
            &name,
            "extends cannot be set from the command line",
        ));
    }
    let mut text = format!("{key} = {value}\n");
    if text.parse::<toml::Table>().is_err() {
        text = format!("{key} = {}\n", toml::Value::String(value.to_string()));
    }
    let index = sources.push(Source {
        name,
        text,
        dir: None,
        identity: String::new(),
        has_lines: false,
    });
    parse(sources, index)
}

/// `--set` tunes what the scenario has; it cannot add events, outcomes or modifiers.
fn check_set_targets(
    base: &Document,
    layer: &Document,
    sources: &Sources,
) -> Result<(), ScenarioError> {
    let name = &sources.get(sources.0.len() - 1).name;
    for (kind, have, set) in [
        ("event", &base.events, &layer.events),
        ("outcome", &base.outcomes, &layer.outcomes),
    ] {
        for (id, event) in set {
            let Some(existing) = have.get(id) else {
                let known: Vec<&str> = have.keys().map(String::as_str).collect();
                return Err(file_error(
                    name,
                    format!(
                        "the scenario has no {kind} '{id}' ({kind}s: {})",
                        known.join(", ")
                    ),
                ));
            };
            for modifier in event.modifiers.keys() {
                if !existing.modifiers.contains_key(modifier) {
                    return Err(file_error(
                        name,
                        format!("{kind} '{id}' has no modifier '{modifier}'"),
                    ));
                }
            }
        }
    }
    Ok(())
}
