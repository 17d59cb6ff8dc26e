//! What pathcast shows a person: progress, summary tables, scenario descriptions, path stories.

pub mod analysis;
pub mod describe;
pub mod progress_bar;
pub mod summary;
pub mod trace;
pub mod uncertainty;

/// A probability as a percentage for reading (CSV files keep full precision).
pub fn percent(p: f64) -> String {
    let pct = p * 100.0;
    if pct != 0.0 && pct.abs() < 0.1 {
        format!("{pct:.3}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// Lays out rows as left-aligned text columns.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}
