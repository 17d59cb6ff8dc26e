//! Reading the CSV files a forecaster writes (questions, resolutions): a header row, one row
//! per question; every error names the file, the line and the column.

use super::question::{Deadline, Mode, Question, QuestionError};
use super::InputError;
use crate::model::Model;
use std::path::Path;

/// Files larger than this are refused: a questions file is a few KiB.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// One row of a CSV file, with where it was.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line in the file.
    pub line: u64,
    cells: Vec<String>,
}

/// A CSV file read whole, with its header.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    header: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Reads `path`, which must have the columns `required` (others are allowed and ignored
    /// unless `optional` names them).
    pub fn read(path: &Path, required: &[&str]) -> Result<Table, InputError> {
        let name = path.display().to_string();
        let whole = |message: String| InputError::new(&name, message);
        let size = std::fs::metadata(path)
            .map_err(|e| whole(e.to_string()))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(whole(format!(
                "file is larger than {} MiB",
                MAX_FILE_BYTES >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| whole(e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice());
        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            Some(Ok(h)) => h.iter().map(str::to_string).collect(),
            Some(Err(e)) => return Err(csv_error(&name, &e)),
            None => return Err(whole("the file is empty; it needs a header row".into())),
        };
        for column in required {
            if !header.iter().any(|h| h == column) {
                return Err(InputError::new(
                    &format!("{name}:1"),
                    format!(
                        "missing column '{column}' (the header has: {}; needed: {})",
                        header.join(", "),
                        required.join(", ")
                    ),
                ));
            }
        }
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(|e| csv_error(&name, &e))?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() != header.len() {
                return Err(InputError::new(
                    &format!("{name}:{line}"),
                    format!(
                        "{} fields, but the header has {}",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            rows.push(Row {
                line,
                cells: record.iter().map(str::to_string).collect(),
            });
        }
        if rows.is_empty() {
            return Err(whole("the file has a header but no rows".into()));
        }
        Ok(Table { name, header, rows })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The cell of `row` in column `name` ("" when the file has no such column).
    pub fn cell<'a>(&self, row: &'a Row, name: &str) -> &'a str {
        self.column(name).map_or("", |c| row.cells[c].as_str())
    }

    /// An error about the cell of `row` in column `name`: "file:line: column 3 (by)".
    pub fn error(&self, row: &Row, name: &str, message: impl Into<String>) -> InputError {
        let column = self.column(name).map_or(0, |c| c + 1);
        InputError::new(
            &format!("{}:{}: column {column} ({name})", self.name, row.line),
            message,
        )
    }

    /// The question of `row`: `question` and one of `by` or `at`. Unknown ids are reported
    /// apart (as `Err(Ok(..))`), so that a caller may skip such a row.
    pub fn question(&self, row: &Row, model: &Model) -> Result<Question, QuestionRowError> {
        let text = self.cell(row, "question");
        let (by, at) = (self.cell(row, "by"), self.cell(row, "at"));
        let (mode, column, written) = match (by.is_empty(), at.is_empty()) {
            (false, true) => (Mode::By, "by", by),
            (true, false) => (Mode::At, "at", at),
            (true, true) => {
                return Err(QuestionRowError::Bad(self.error(
                    row,
                    "by",
                    "give a deadline: a step number or a date such as 2025-12-31",
                )))
            }
            (false, false) => {
                return Err(QuestionRowError::Bad(self.error(
                    row,
                    "at",
                    "give either by or at, not both",
                )))
            }
        };
        let deadline = Deadline::parse(written)
            .map_err(|m| QuestionRowError::Bad(self.error(row, column, m)))?;
        Question::new(model, text, mode, deadline).map_err(|e| {
            let (bad, unknown) = match &e {
                QuestionError::Deadline(m) => (self.error(row, column, m.clone()), false),
                QuestionError::Condition(c) => (self.condition_error(row, text, c), false),
                QuestionError::UnknownId(c) => (self.condition_error(row, text, c), true),
            };
            if unknown {
                QuestionRowError::UnknownId(bad)
            } else {
                QuestionRowError::Bad(bad)
            }
        })
    }

    fn condition_error(
        &self,
        row: &Row,
        text: &str,
        e: &crate::scenario::condition::ConditionError,
    ) -> InputError {
        self.error(
            row,
            "question",
            format!("{e} in {}", crate::scenario::echo(text)),
        )
    }
}

/// Why a row's question cannot be asked.
#[derive(Debug)]
pub enum QuestionRowError {
    /// The question names an id the scenario does not have.
    UnknownId(InputError),
    Bad(InputError),
}

impl QuestionRowError {
    pub fn into_error(self) -> InputError {
        match self {
            QuestionRowError::UnknownId(e) | QuestionRowError::Bad(e) => e,
        }
    }
}

fn csv_error(name: &str, e: &csv::Error) -> InputError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text (save it as UTF-8)".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header has {expected_len}"),
        _ => e.to_string(),
    };
    InputError::new(&format!("{name}:{line}"), message)
}
