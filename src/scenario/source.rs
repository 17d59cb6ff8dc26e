//! Where scenario text comes from (files, built-in presets, `--set`), and how a byte offset in
//! it becomes a line number in an error message.

use crate::error::ScenarioError;
use crate::text::excerpt;
use std::ops::Range;
use std::path::PathBuf;

/// Scenario files are small; a larger file is refused before it is parsed.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct Source {
    /// What error messages call it: a path, "preset baseline" or "--set 'key=value'".
    pub name: String,
    pub text: String,
    /// The folder relative to which `extends` is resolved; `None` for built-in presets.
    pub dir: Option<PathBuf>,
    /// Identity used to detect cycles in `extends`.
    pub identity: String,
    /// Whether the text has line structure worth citing (not so for `--set`).
    pub has_lines: bool,
}

/// All the texts a scenario was built from, in the order they were read.
#[derive(Debug, Default, Clone)]
pub struct Sources(pub Vec<Source>);

impl Sources {
    pub fn push(&mut self, source: Source) -> usize {
        self.0.push(source);
        self.0.len() - 1
    }

    pub fn get(&self, index: usize) -> &Source {
        &self.0[index]
    }

    /// "file:line" for a span of source `index`.
    pub fn place(&self, index: usize, span: &Range<usize>) -> String {
        let source = &self.0[index];
        if !source.has_lines {
            return source.name.clone();
        }
        let offset = span.start.min(source.text.len());
        let line = source.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("{}:{line}", source.name)
    }

    /// An error at a span of source `index`, for the dotted key `key`.
    pub fn error(
        &self,
        index: usize,
        span: &Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            place: format!("{}: {}", self.place(index, span), excerpt(key)),
            message: message.into(),
        }
    }
}

/// An error that belongs to a whole source rather than to one key in it.
pub fn file_error(name: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        place: name.to_string(),
        message: message.into(),
    }
}

/// Reads a scenario file, refusing anything but a regular file (a FIFO or a device would
/// hang or never end), huge files, and text that is not UTF-8.
pub fn read_file(path: &std::path::Path) -> Result<String, ScenarioError> {
    use crate::files::{read_regular, ReadError};
    let name = path.display().to_string();
    let bytes = read_regular(path, MAX_FILE_BYTES, true).map_err(|e| {
        let message = match e {
            ReadError::Io(e) => e.to_string(),
            ReadError::NotAFile => "not a regular file".to_string(),
            ReadError::TooLarge => format!(
                "file is larger than {} KiB; a scenario file is a few KiB of TOML",
                MAX_FILE_BYTES / 1024
            ),
        };
        file_error(&name, message)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        file_error(
            &format!("{name}:{line}"),
            "the file is not UTF-8 text (save it as UTF-8)",
        )
    })
}
