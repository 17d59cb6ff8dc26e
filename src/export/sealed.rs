//! The text format the data files of a shard folder share (`tally.txt`, `units.txt`): a first
//! line naming the format and its version, records of words separated by single spaces, lines
//! starting with `#` as comments, and a last line `sha256 <hex>` over every byte before it, so
//! that a truncated, cut or edited file is refused rather than merged. Formats in
//! docs/sharding.md.

use super::manifest::sha256_hex;

/// Appends the checksum line to `body`.
pub fn seal(mut body: String) -> String {
    let checksum = sha256_hex(&body);
    body.push_str(&format!("sha256 {checksum}\n"));
    body
}

/// The body of `text` (checksum line removed), once its first line is `magic` and its
/// checksum matches. Only the checksum line's text is returned beside it, for comparing two
/// files without keeping them.
pub fn open<'a>(text: &'a str, magic: &str, what: &str) -> Result<(&'a str, &'a str), String> {
    let body_end = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
    let (body, last) = text.split_at(body_end);
    if !body.starts_with(&format!("{magic}\n")) {
        let first = text.lines().next().unwrap_or("");
        return Err(format!(
            "line 1: '{first}' is not '{magic}' (not a {what}, or one of another version)"
        ));
    }
    if last != format!("sha256 {}\n", sha256_hex(body)) {
        return Err(
            "the last line is not the file's 'sha256' checksum: the file is truncated or was \
             changed after it was written"
                .to_string(),
        );
    }
    Ok((body, last))
}

/// Appends `<kind> <id> <n_1> ... <n_k>`.
pub fn counts_line(out: &mut String, kind: &str, id: &str, counts: &[u64]) {
    out.push_str(kind);
    out.push(' ');
    out.push_str(id);
    for c in counts {
        out.push_str(&format!(" {c}"));
    }
    out.push('\n');
}

/// Appends `<kind> <x_1> ... <x_k>`, each number in the shortest form that reads back as the
/// same bits (`{:e}`), so that what is derived from them after a merge is bit-identical.
pub fn floats_line(out: &mut String, kind: &str, values: &[f64]) {
    out.push_str(kind);
    for x in values {
        out.push_str(&format!(" {x:e}"));
    }
    out.push('\n');
}

/// Plain decimal digits only: no sign, no spaces, no leading '+'.
pub fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A finite number as [`floats_line`] writes it (Rust's float syntax: `1.5e-3`, `-0e0`).
fn float(text: &str) -> Option<f64> {
    // Rust also reads "inf", "NaN" and "+1": no writer of these files produces them.
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"-.e".contains(&b));
    text.parse::<f64>().ok().filter(|x| plain && x.is_finite())
}

/// Reads the records of a body one at a time, with their line numbers for messages.
pub struct Lines<'a> {
    lines: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    /// The number in the file of the text's line before its first.
    base: usize,
    /// The number of the last line taken.
    at: usize,
}

impl<'a> Lines<'a> {
    /// The records of `body`, after its first line (the format's name).
    pub fn new(body: &'a str) -> Lines<'a> {
        let mut lines = body.lines().enumerate().peekable();
        lines.next();
        Lines {
            lines,
            base: 0,
            at: 1,
        }
    }

    /// The records of `text`, which starts at line `line` of its file (for messages).
    pub fn at(text: &'a str, line: usize) -> Lines<'a> {
        let base = line.saturating_sub(1);
        Lines {
            lines: text.lines().enumerate().peekable(),
            base,
            at: base,
        }
    }

    /// The records before the next one whose first word is `key`, as text, and the line the
    /// first of them is on: a part of the file read (and compared) on its own.
    pub fn take_until(&mut self, key: &str) -> Result<(String, usize), String> {
        let mut text = String::new();
        let mut start = None;
        while self.peek() != Some(key) {
            let words = self.next(key)?;
            start.get_or_insert(self.at);
            text.push_str(&words.join(" "));
            text.push('\n');
        }
        Ok((text, start.unwrap_or(self.at + 1)))
    }

    fn skip_comments(&mut self) {
        while self.lines.next_if(|(_, l)| l.starts_with('#')).is_some() {}
    }

    /// The first word of the next record, without taking it.
    pub fn peek(&mut self) -> Option<&'a str> {
        self.skip_comments();
        self.lines
            .peek()
            .map(|(_, l)| l.split(' ').next().unwrap_or(""))
    }

    /// The next record, split into words; `expected` names it in the message when there is
    /// none.
    pub fn next(&mut self, expected: &str) -> Result<Vec<&'a str>, String> {
        self.skip_comments();
        match self.lines.next() {
            Some((i, line)) => {
                self.at = self.base + i + 1;
                Ok(line.split(' ').collect())
            }
            None => Err(format!("ends before the {expected} line (truncated?)")),
        }
    }

    /// `message`, at the line last taken.
    pub fn error(&self, message: impl std::fmt::Display) -> String {
        format!("line {}: {message}", self.at)
    }

    /// The next record, which must be `<key> <value>`.
    pub fn value(&mut self, key: &str) -> Result<&'a str, String> {
        match self.next(key)?.as_slice() {
            [k, v] if *k == key => Ok(v),
            _ => Err(self.error(format!("expected '{key} <value>'"))),
        }
    }

    pub fn number(&mut self, key: &str) -> Result<u64, String> {
        let text = self.value(key)?;
        number(text).ok_or_else(|| self.error(format!("{key} '{text}' is not a whole number")))
    }

    /// The next record, which must be `<kind> <id> <n counts>`.
    pub fn counts(&mut self, kind: &str, id: &str, n: usize) -> Result<Vec<u64>, String> {
        let words = self.next(kind)?;
        if words.len() != n + 2 || words[0] != kind || words[1] != id {
            return Err(self.error(format!(
                "expected '{kind} {id}' and {n} counts (does the file belong to this scenario?)"
            )));
        }
        words[2..]
            .iter()
            .map(|w| number(w).ok_or_else(|| self.error(format!("count '{w}' is not a number"))))
            .collect()
    }

    /// The next record, which must be `<kind> <n numbers>` as [`floats_line`] writes them.
    pub fn floats(&mut self, kind: &str, n: usize) -> Result<Vec<f64>, String> {
        let words = self.next(kind)?;
        if words.len() != n + 1 || words[0] != kind {
            return Err(self.error(format!(
                "expected '{kind}' and {n} numbers (does the file belong to this scenario?)"
            )));
        }
        words[1..]
            .iter()
            .map(|w| float(w).ok_or_else(|| self.error(format!("'{w}' is not a finite number"))))
            .collect()
    }

    /// The next record, which must be `<kind> <key> <x_1> ... <x_k>` with k of at least 1:
    /// the key and the numbers.
    pub fn keyed_floats(&mut self, kind: &str) -> Result<(&'a str, Vec<f64>), String> {
        let words = self.next(kind)?;
        if words.len() < 3 || words[0] != kind {
            return Err(self.error(format!("expected '{kind} <key>' and numbers")));
        }
        let values = words[2..]
            .iter()
            .map(|w| float(w).ok_or_else(|| self.error(format!("'{w}' is not a finite number"))))
            .collect::<Result<_, _>>()?;
        Ok((words[1], values))
    }

    /// Refuses anything left after the last record.
    pub fn end(mut self) -> Result<(), String> {
        match self.next("") {
            Ok(words) => Err(self.error(format!("unexpected '{}'", words.join(" ")))),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_back_to_the_same_bits() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e-300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                values.push(x);
            }
        }
        let mut line = String::new();
        floats_line(&mut line, "x", &values);
        let body = format!("magic\n{line}");
        let mut lines = Lines::new(&body);
        let back = lines.floats("x", values.len()).unwrap();
        assert!(values
            .iter()
            .zip(&back)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        lines.end().unwrap();
    }

    #[test]
    fn only_the_written_float_syntax_is_read() {
        for bad in ["inf", "NaN", "+1", "1e999", "", "0x1", " 1"] {
            assert_eq!(float(bad), None, "{bad}");
        }
        assert_eq!(float("-1.5e-3"), Some(-1.5e-3));
    }

    #[test]
    fn a_sealed_text_opens_and_a_cut_one_does_not() {
        let text = seal("fmt 1\n# note\nkey 5\n".to_string());
        let (body, _) = open(&text, "fmt 1", "test file").unwrap();
        let mut lines = Lines::new(body);
        assert_eq!(lines.peek(), Some("key"));
        assert_eq!(lines.number("key"), Ok(5));
        assert!(lines.end().is_ok());
        assert!(open(&text[..text.len() - 3], "fmt 1", "x")
            .unwrap_err()
            .contains("truncated"));
        assert!(open(&text, "fmt 2", "x")
            .unwrap_err()
            .contains("another version"));
    }
}
