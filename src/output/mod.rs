//! What pathcast shows a person: progress, summary tables, scenario descriptions, path stories.

pub mod analysis;
pub mod describe;
pub mod progress_bar;
pub mod summary;
pub mod trace;
pub mod uncertainty;

use crate::text::printable;

/// A probability as a percentage for reading (CSV files keep full precision).
pub fn percent(p: f64) -> String {
    let pct = p * 100.0;
    if pct != 0.0 && pct.abs() < 0.1 {
        format!("{pct:.3}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// The width tables are cut to: `COLUMNS` when set, else the terminal's width when standard
/// output is a terminal, else none (a pipe or a file gets every character).
pub fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
    {
        return Some(columns);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a `winsize` we own; a failure leaves it zeroed.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Narrowest a column is cut to.
const MIN_COLUMN: usize = 12;

/// Narrows the widest columns until a row of `widths` (two spaces apart) fits `max`.
fn fit(widths: &mut [usize], max: usize) {
    loop {
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        let Some(widest) = (0..widths.len()).max_by_key(|&c| widths[c]) else {
            return;
        };
        if total <= max || widths[widest] <= MIN_COLUMN {
            return;
        }
        let second = widths
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != widest)
            .map(|(_, &w)| w)
            .max()
            .unwrap_or(0);
        // Down to the next widest column, or as far as needed, whichever is less.
        let target = widths[widest]
            .saturating_sub(total - max)
            .max(second)
            .max(MIN_COLUMN)
            .min(widths[widest] - 1);
        widths[widest] = target;
    }
}

/// `cell` cut to `width` characters, with an ellipsis when cut.
fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        cell.to_string()
    } else {
        cell.chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "\u{2026}"
    }
}

/// Lays out rows as left-aligned text columns, cut to the terminal's width
/// ([`terminal_width`]; the files keep every character). Cells are escaped ([`printable`]),
/// and padded by hand: `format!`'s width panics above 65,535, and a cell's width comes from
/// user data.
pub fn table(rows: &[Vec<String>]) -> String {
    table_within(rows, terminal_width())
}

fn table_within(rows: &[Vec<String>], max_width: Option<usize>) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(max) = max_width {
        fit(&mut widths, max);
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let cell = cut(cell, widths[c]);
            line.push_str(&cell);
            let pad = widths[c] - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::table_within;

    #[test]
    fn tables_are_cut_to_the_width_with_an_ellipsis() {
        let rows = vec![
            vec!["id".to_string(), "label".into(), "p".into()],
            vec![
                "meeting".into(),
                "Putin and Zelenskiy meet in person, somewhere".into(),
                "0.9%".into(),
            ],
        ];
        let text = table_within(&rows, Some(40));
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        assert!(text.contains("Putin and Zelenskiy meet\u{2026}"), "{text}");
        assert!(text.contains("0.9%"));
        // No width: every character.
        assert!(table_within(&rows, None).contains("somewhere"));
    }

    /// Any rows, any width: no panic, and every line fits unless the columns cannot shrink
    /// further (12 characters each).
    #[test]
    fn any_table_fits_any_width_without_a_panic() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..2000 {
            let columns = 1 + next(8) as usize;
            let rows: Vec<Vec<String>> = (0..1 + next(5))
                .map(|_| {
                    (0..columns)
                        .map(|_| "x".repeat(next(90) as usize))
                        .collect()
                })
                .collect();
            let max = next(200) as usize;
            let text = table_within(&rows, Some(max));
            let floor = columns * 12 + 2 * (columns - 1);
            for line in text.lines() {
                assert!(line.chars().count() <= max.max(floor), "{max}: {line}");
            }
        }
    }
}
