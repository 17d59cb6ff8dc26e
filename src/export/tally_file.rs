//! The tally file of a shard folder (`tally.txt`): the exact integer counts every table is
//! derived from, so that `pathcast merge` can add shards and derive the tables of the whole
//! run. The format is defined in docs/sharding.md; this module writes and reads version 1.
//!
//! ```text
//! pathcast-tally 1
//! # comment lines start with '#'
//! scenario_sha256 <64 hex digits>
//! seed <u64>
//! first_path <u64>
//! paths <u64>
//! steps <horizon + 1>
//! outcome <id> <count at step 0> ... <count at step horizon>     (one line per outcome)
//! event <id> <count at step 0> ... <count at step horizon>       (one line per event)
//! joint <outcome id> <count with event 1> ... <count with event E> (one line per outcome)
//! starts <id> <count at step 0> ... <count at step horizon>      (one line per event that
//! ends <id> <count at step 0> ... <count at step horizon>        can end, each with these
//! starts_squared <id> <sum over paths of its starts squared>     three lines, in event order)
//! sha256 <SHA-256 of every byte before this line>
//! ```

use super::manifest::sha256_hex;
use crate::model::Model;
use crate::simulate::Tally;
use std::fmt::Write;

pub const FILE_NAME: &str = "tally.txt";
/// The first line; a reader refuses any other, so a later format gets a new number.
pub const MAGIC: &str = "pathcast-tally 1";

/// What a tally file says its counts are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyOf {
    pub scenario_sha256: String,
    pub seed: u64,
    pub first_path: u64,
    pub paths: u64,
}

fn counts_line(out: &mut String, kind: &str, id: &str, counts: &[u64]) {
    let _ = write!(out, "{kind} {id}");
    for c in counts {
        let _ = write!(out, " {c}");
    }
    out.push('\n');
}

/// The tally file of `tally`, a run of `model` described by `of`.
pub fn write(model: &Model, tally: &Tally, of: &TallyOf) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MAGIC}");
    out.push_str("# Exact counts of the paths of a pathcast shard; format in docs/sharding.md.\n");
    let _ = writeln!(out, "scenario_sha256 {}", of.scenario_sha256);
    let _ = writeln!(out, "seed {}", of.seed);
    let _ = writeln!(out, "first_path {}", of.first_path);
    let _ = writeln!(out, "paths {}", of.paths);
    let _ = writeln!(out, "steps {}", model.horizon() as usize + 1);
    for (o, outcome) in model.outcomes().iter().enumerate() {
        counts_line(&mut out, "outcome", &outcome.id, tally.outcome_by_step(o));
    }
    for (e, event) in model.events().iter().enumerate() {
        counts_line(&mut out, "event", &event.id, tally.event_by_step(e));
    }
    for (o, outcome) in model.outcomes().iter().enumerate() {
        counts_line(&mut out, "joint", &outcome.id, tally.joint_row(o));
    }
    for (j, &e) in tally.ending().iter().enumerate() {
        let id = &model.events()[e].id;
        counts_line(&mut out, "starts", id, tally.starts_by_step(j));
        counts_line(&mut out, "ends", id, tally.ends_by_step(j));
        let _ = writeln!(out, "starts_squared {id} {}", tally.starts_squared(j));
    }
    let checksum = sha256_hex(&out);
    let _ = writeln!(out, "sha256 {checksum}");
    out
}

/// Reads lines of the body one at a time, with their line numbers for messages.
struct Lines<'a> {
    lines: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    /// The number of the last line taken.
    at: usize,
}

impl<'a> Lines<'a> {
    /// The next line that is not a comment, split into words; `expected` names it in the
    /// message when there is none.
    fn next(&mut self, expected: &str) -> Result<Vec<&'a str>, String> {
        for (i, line) in self.lines.by_ref() {
            self.at = i + 1;
            if !line.starts_with('#') {
                return Ok(line.split(' ').collect());
            }
        }
        Err(format!("ends before the {expected} line (truncated?)"))
    }

    fn error(&self, message: impl std::fmt::Display) -> String {
        format!("line {}: {message}", self.at)
    }

    /// The next line, which must be `<key> <value>`.
    fn value(&mut self, key: &str) -> Result<&'a str, String> {
        match self.next(key)?.as_slice() {
            [k, v] if *k == key => Ok(v),
            _ => Err(self.error(format!("expected '{key} <value>'"))),
        }
    }

    fn number(&mut self, key: &str) -> Result<u64, String> {
        let text = self.value(key)?;
        number(text).ok_or_else(|| self.error(format!("{key} '{text}' is not a whole number")))
    }

    /// The next line, which must be `<kind> <id> <n counts>`.
    fn counts(&mut self, kind: &str, id: &str, n: usize) -> Result<Vec<u64>, String> {
        let words = self.next(kind)?;
        if words.len() != n + 2 || words[0] != kind || words[1] != id {
            return Err(self.error(format!(
                "expected '{kind} {id}' and {n} counts (does the tally belong to this scenario?)"
            )));
        }
        words[2..]
            .iter()
            .map(|w| number(w).ok_or_else(|| self.error(format!("count '{w}' is not a number"))))
            .collect()
    }
}

/// Plain decimal digits only: no sign, no spaces, no leading '+'.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads a tally file of a run of `model`. The message of an error says what is wrong and
/// on which line; the caller names the file.
pub fn read(model: &Model, text: &str) -> Result<(TallyOf, Tally), String> {
    let body_end = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
    let (body, last) = text.split_at(body_end);
    if !body.starts_with(&format!("{MAGIC}\n")) {
        let first = text.lines().next().unwrap_or("");
        return Err(format!(
            "line 1: '{first}' is not '{MAGIC}' (not a tally file, or one of another version)"
        ));
    }
    let checksum = sha256_hex(body);
    if last != format!("sha256 {checksum}\n") {
        return Err(
            "the last line is not the file's 'sha256' checksum: the file is truncated or was \
             changed after it was written"
                .to_string(),
        );
    }
    let mut lines = Lines {
        lines: body.lines().enumerate().peekable(),
        at: 0,
    };
    lines.next("first")?;
    let of = TallyOf {
        scenario_sha256: lines.value("scenario_sha256")?.to_string(),
        seed: lines.number("seed")?,
        first_path: lines.number("first_path")?,
        paths: lines.number("paths")?,
    };
    let steps = model.horizon() as usize + 1;
    if lines.number("steps")? != steps as u64 {
        return Err(lines.error(format!(
            "steps differs from the scenario's horizon + 1 ({steps})"
        )));
    }
    let mut rows = |kind: &str, ids: &[&str], n: usize| -> Result<Vec<Vec<u64>>, String> {
        ids.iter().map(|id| lines.counts(kind, id, n)).collect()
    };
    let outcome_ids: Vec<&str> = model.outcomes().iter().map(|o| o.id.as_str()).collect();
    let event_ids: Vec<&str> = model.events().iter().map(|e| e.id.as_str()).collect();
    let outcome_rows = rows("outcome", &outcome_ids, steps)?;
    let event_rows = rows("event", &event_ids, steps)?;
    let joint_rows = rows("joint", &outcome_ids, event_ids.len())?;
    let mut spells = Vec::new();
    for e in crate::model::bits(model.ends_mask()) {
        let id = event_ids[e];
        let starts = lines.counts("starts", id, steps)?;
        let ends = lines.counts("ends", id, steps)?;
        let squared = match lines.next("starts_squared")?.as_slice() {
            ["starts_squared", i, value] if *i == id => value
                .parse::<u128>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| lines.error(format!("'{value}' is not a whole number")))?,
            _ => return Err(lines.error(format!("expected 'starts_squared {id} <count>'"))),
        };
        spells.push((starts, ends, squared));
    }
    if let Some((i, line)) = lines.lines.find(|(_, l)| !l.starts_with('#')) {
        return Err(format!("line {}: unexpected '{line}'", i + 1));
    }
    let tally = Tally::from_counts(
        model,
        of.paths,
        &outcome_rows,
        &event_rows,
        &joint_rows,
        &spells,
    )?;
    Ok((of, tally))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::tally_serial;

    fn model() -> Model {
        crate::scenario::load_preset("baseline", &[]).unwrap().model
    }

    fn of(paths: u64) -> TallyOf {
        TallyOf {
            scenario_sha256: "ab".repeat(32),
            seed: 7,
            first_path: 100,
            paths,
        }
    }

    /// Rewrites the checksum line, as a careless hand edit with a tool that "fixes" it might.
    fn resealed(text: &str) -> String {
        let body = &text[..text.trim_end().rfind('\n').unwrap() + 1];
        format!("{body}sha256 {}\n", sha256_hex(body))
    }

    #[test]
    fn a_tally_reads_back_exactly() {
        let model = model();
        let tally = tally_serial(&model, 7, 100, 3100);
        let text = write(&model, &tally, &of(3000));
        assert!(text.starts_with("pathcast-tally 1\n"));
        assert_eq!(read(&model, &text).unwrap(), (of(3000), tally));
    }

    #[test]
    fn a_tally_of_events_that_end_reads_back_exactly() {
        let model = crate::scenario::load_preset(
            "baseline",
            &[
                "events.meeting.ends.p=0.3".into(),
                "events.sanctions.ends.p=0.1".into(),
            ],
        )
        .unwrap()
        .model;
        let tally = tally_serial(&model, 7, 0, 5000);
        let text = write(&model, &tally, &of(5000));
        assert!(text.contains("\nstarts meeting 0 "));
        assert!(text.contains("\nstarts_squared sanctions "));
        assert_eq!(read(&model, &text).unwrap(), (of(5000), tally));
        // A count of ends beyond the starts is refused.
        let line = text
            .lines()
            .find(|l| l.starts_with("ends meeting"))
            .unwrap();
        let mut words: Vec<&str> = line.split(' ').collect();
        words[3] = "999999";
        let changed = resealed(&text.replacen(line, &words.join(" "), 1));
        assert!(read(&model, &changed).unwrap_err().contains("inconsistent"));
    }

    #[test]
    fn truncated_changed_and_inconsistent_files_are_refused() {
        let model = model();
        let text = write(&model, &tally_serial(&model, 7, 0, 2000), &of(2000));
        let cut = &text[..text.len() / 2];
        assert!(read(&model, cut).unwrap_err().contains("truncated"));
        assert!(read(&model, "").unwrap_err().contains("line 1"));
        // One count changed (a path moved to step 0): the checksum no longer matches.
        let line = text.lines().find(|l| l.starts_with("outcome ")).unwrap();
        let mut words: Vec<&str> = line.split(' ').collect();
        words[2] = "1";
        let changed = text.replacen(line, &words.join(" "), 1);
        assert!(read(&model, &changed).unwrap_err().contains("checksum"));
        // The same change with the checksum recomputed: the counts no longer add up.
        assert!(read(&model, &resealed(&changed))
            .unwrap_err()
            .contains("inconsistent"));
        // Another format version.
        let v2 = resealed(&text.replacen("pathcast-tally 1", "pathcast-tally 2", 1));
        assert!(read(&model, &v2).unwrap_err().contains("another version"));
        // Another scenario's rows.
        let other = resealed(&text.replacen("outcome ceasefire", "outcome truce", 1));
        assert!(read(&model, &other).unwrap_err().contains("this scenario"));
        // A signed number.
        let signed = resealed(&text.replacen("seed 7", "seed +7", 1));
        assert!(read(&model, &signed).unwrap_err().contains("line 4"));
    }
}
