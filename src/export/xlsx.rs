//! `results.xlsx`: the CSV tables of an output folder as one workbook, a sheet per table, with
//! numbers stored as numbers and dates as dates, so that no regional setting can misread them
//! (a German import reads the CSV's `0.351` as 351), frozen header rows, readable column widths,
//! and native charts of the outcomes and of the timeline.
//!
//! Each sheet is made from the table's CSV bytes, so the workbook holds exactly what the CSV
//! files hold. Text is always written as text, never as a formula.

use chrono::NaiveDate;
use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError,
};

pub const FILE: &str = "results.xlsx";
/// The sheet of ids and labels (`labels.csv`); its third column holds the labels.
const LABELS_SHEET: &str = "labels";

/// Widest column, in characters.
const MAX_WIDTH: usize = 60;

/// A sheet to make: its name, its CSV bytes, and the chart to draw from it.
pub struct Sheet<'a> {
    pub name: &'a str,
    pub csv: &'a [u8],
    pub chart: SheetChart,
    /// (id, label) of the scenario's events and outcomes, in the order of the rows of the
    /// `labels` sheet: a chart's series are named by a reference to their label's cell (a
    /// literal name would be read as a formula or a range if the label looked like one).
    pub labels: &'a [(String, String)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetChart {
    None,
    /// A bar chart of the `probability` column, one bar per row, labelled by the `label` column.
    Bars,
    /// A line chart of every column after the step and date columns, over the rows.
    Lines,
}

fn xlsx_error(error: XlsxError) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

/// The workbook of `sheets`, as bytes. The document's creation date is fixed, so the same
/// tables give the same bytes.
pub fn workbook(sheets: &[Sheet<'_>]) -> std::io::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1).map_err(xlsx_error)?;
    book.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&epoch)
            .set_author("pathcast"),
    );
    for sheet in sheets {
        add_sheet(&mut book, sheet).map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

fn add_sheet(book: &mut Workbook, sheet: &Sheet<'_>) -> Result<(), XlsxError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(sheet.csv);
    let rows: Vec<Vec<String>> = reader
        .records()
        .filter_map(Result::ok)
        .map(|r| r.iter().map(String::from).collect())
        .collect();
    let Some(header) = rows.first() else {
        return Ok(());
    };
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let worksheet = book.add_worksheet();
    worksheet.set_name(sheet.name)?;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, col) = (r as u32, c as u16);
            if r == 0 {
                worksheet.write_string_with_format(r, col, cell, &bold)?;
            } else if cell.is_empty() {
                continue;
            } else if let Ok(day) = NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
                worksheet.write_datetime_with_format(r, col, day, &date)?;
            } else if let Some(x) = plain_number(cell) {
                worksheet.write_number(r, col, x)?;
            } else {
                worksheet.write_string(r, col, cell)?;
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(cell.chars().count().min(MAX_WIDTH));
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        worksheet.set_column_width(c as u16, (*w as f64 + 2.0).min(MAX_WIDTH as f64))?;
    }
    worksheet.set_freeze_panes(1, 0)?;
    let last = rows.len() as u32 - 1;
    if last == 0 {
        // A header and no rows (a scenario without events): nothing to chart.
        return Ok(());
    }
    match sheet.chart {
        SheetChart::None => {}
        SheetChart::Bars => bar_chart(worksheet, sheet.name, header, last)?,
        SheetChart::Lines => line_chart(worksheet, sheet, header, last)?,
    }
    Ok(())
}

/// A number as pathcast writes them: plain decimals and integers (never ids such as `inf`).
fn plain_number(cell: &str) -> Option<f64> {
    let plain = cell
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if plain {
        cell.parse().ok()
    } else {
        None
    }
}

fn column(header: &[String], name: &str) -> Option<u16> {
    header.iter().position(|h| h == name).map(|c| c as u16)
}

fn bar_chart(
    sheet: &mut Worksheet,
    name: &str,
    header: &[String],
    last: u32,
) -> Result<(), XlsxError> {
    let (Some(label), Some(value)) = (column(header, "label"), column(header, "probability"))
    else {
        return Ok(());
    };
    let mut chart = Chart::new(ChartType::Bar);
    chart
        .add_series()
        .set_categories((name, 1, label, last, label))
        .set_values((name, 1, value, last, value))
        .set_name("probability");
    chart.title().set_name(&format!("{name}: probability"));
    chart.legend().set_hidden();
    sheet.insert_chart(last + 2, 1, &chart)?;
    Ok(())
}

fn line_chart(
    worksheet: &mut Worksheet,
    sheet: &Sheet<'_>,
    header: &[String],
    last: u32,
) -> Result<(), XlsxError> {
    let name = sheet.name;
    let x = column(header, "date")
        .or(column(header, "step"))
        .unwrap_or(0);
    let first_value = header
        .iter()
        .position(|h| h != "step" && h != "date" && h != "end_date")
        .unwrap_or(1) as u16;
    let mut chart = Chart::new(ChartType::Line);
    for c in first_value..header.len() as u16 {
        let id = &header[c as usize];
        let series = chart
            .add_series()
            .set_categories((name, 1, x, last, x))
            .set_values((name, 1, c, last, c));
        match sheet.labels.iter().position(|(i, _)| i == id) {
            Some(row) => series.set_name((LABELS_SHEET, row as u32 + 1, 2)),
            None => series.set_name((name, 0, c)),
        };
    }
    chart.title().set_name("Cumulative probability by step");
    worksheet.insert_chart(1, header.len() as u16 + 1, &chart)?;
    Ok(())
}
