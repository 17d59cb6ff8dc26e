//! What a person opens: `report.html` (self-contained, escaped, pinned by a golden file) and
//! `results.xlsx` (typed cells that match the CSV tables), and the golden CSV tables of a small
//! exact run. Set PATHCAST_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.

use crate::common;

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use common::{pathcast, SMALL_SCENARIO};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/small-exact")
}

fn run_small(args: &[&str]) -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("small.toml"), SMALL_SCENARIO).unwrap();
    pathcast(dir.path()).args(args).assert().success();
    dir
}

/// The exact run of the small scenario, byte for byte: the tables and the report.
#[test]
fn exact_outputs_match_the_golden_files() {
    let dir = run_small(&["exact", "small.toml", "--out", "out"]);
    let update = std::env::var_os("PATHCAST_UPDATE_GOLDEN").is_some();
    for name in [
        "outcomes.csv",
        "events.csv",
        "timeline.csv",
        "conditional.csv",
        "labels.csv",
        "report.html",
    ] {
        let got = fs::read_to_string(dir.path().join("out").join(name)).unwrap();
        let golden = golden_dir().join(name);
        if update {
            fs::create_dir_all(golden_dir()).unwrap();
            fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (PATHCAST_UPDATE_GOLDEN=1 writes it)",
                golden.display()
            )
        });
        assert!(
            got == want,
            "{name} differs from {} (PATHCAST_UPDATE_GOLDEN=1 rewrites it after a deliberate \
             change)",
            golden.display()
        );
    }
}

#[test]
fn the_report_is_self_contained_and_escapes_what_the_scenario_says() {
    let hostile = SMALL_SCENARIO.replace(
        "label = \"Deal\"",
        "label = \"<script>alert(1)</script> & <img src=http://example.com/x.png>\"",
    );
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("small.toml"), hostile).unwrap();
    pathcast(dir.path())
        .args(["run", "small.toml", "--paths", "2000"])
        .assert()
        .success();
    let html = fs::read_to_string(dir.path().join("output/small/report.html")).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "markup from a label"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"));
    // Nothing from the network: no tag loads or links anything, no style fetches a url(), and
    // the content security policy forbids any load.
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        for loader in ["src=", "href=", "url(", "@import"] {
            assert!(!tag.contains(loader), "a tag that loads: <{tag}>");
        }
    }
    assert!(html.contains("default-src 'none'"));
    for section in [
        "Outcomes",
        "How paths end over time",
        "Events by date",
        "Outcomes given each event",
    ] {
        assert!(html.contains(&format!("<h2>{section}</h2>")), "{section}");
    }
    // Labels, not ids, in the charts.
    assert!(html.contains("Talks open") && html.contains("No deal"));
}

/// A table with a header and no rows (a scenario without events) makes an empty sheet and no
/// chart, and the run succeeds.
#[test]
fn a_scenario_without_events_has_a_workbook_too() {
    let text = "[scenario]\nid = \"bare\"\nhorizon = 3\nstart = 2025-01-06\n\n\
                [outcomes.deal]\nlabel = \"Deal\"\np = 0.2\n\n\
                [outcomes.none]\nlabel = \"No deal\"\n\n[horizon]\ndefault = \"none\"\n";
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("bare.toml"), text).unwrap();
    for command in ["run", "exact"] {
        pathcast(dir.path())
            .args([command, "bare.toml", "--out", command])
            .assert()
            .success();
        let mut book: Xlsx<_> =
            open_workbook(dir.path().join(command).join("results.xlsx")).unwrap();
        assert_eq!(book.worksheet_range("events").unwrap().height(), 1);
    }
}

/// Every cell of the workbook holds the CSV's value, typed: numbers as numbers, dates as dates.
#[test]
fn the_workbook_holds_the_tables_with_typed_cells() {
    let dir = run_small(&["run", "small.toml", "--paths", "3000", "--out", "out"]);
    let out = dir.path().join("out");
    let mut book: Xlsx<_> = open_workbook(out.join("results.xlsx")).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["outcomes", "events", "timeline", "conditional", "labels"]
    );
    for sheet in book.sheet_names() {
        let range = book.worksheet_range(&sheet).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(out.join(format!("{sheet}.csv")))
            .unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(range.height(), rows.len(), "{sheet}");
        let mut typed = (0, 0);
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let value = range.get((r, c)).unwrap_or(&Data::Empty);
                match value {
                    Data::Float(x) => {
                        typed.0 += 1;
                        let expected: f64 = cell.parse().unwrap();
                        assert_eq!(*x, expected, "{sheet} {r},{c}");
                    }
                    Data::DateTime(_) => {
                        typed.1 += 1;
                        let date = value.as_datetime().unwrap().date();
                        assert_eq!(date.to_string(), cell, "{sheet} {r},{c}");
                    }
                    Data::String(text) => assert_eq!(text, cell, "{sheet} {r},{c}"),
                    Data::Empty => assert!(cell.is_empty(), "{sheet} {r},{c}: {cell}"),
                    other => panic!("{sheet} {r},{c}: {other:?}"),
                }
                // A probability is a number in the workbook whatever the CSV looks like.
                if r > 0 && rows[0].get(c) == Some("probability") && !cell.is_empty() {
                    assert!(matches!(value, Data::Float(_)), "{sheet} {r},{c}");
                }
            }
        }
        assert!(typed.0 > 0 || sheet == "labels", "{sheet} has numbers");
        if sheet != "conditional" && sheet != "labels" {
            assert!(typed.1 > 0, "{sheet} has dates");
        }
    }
}

/// Value stability across format versions: a copy of the baseline preset as it was before
/// events could end, with the tables that version wrote (exact, and 20,000 paths of seed 7),
/// must give the same bytes today. These files are never regenerated.
#[test]
fn a_scenario_of_the_first_format_gives_the_same_tables() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1-baseline");
    let dir = TempDir::new().unwrap();
    fs::copy(golden.join("baseline.toml"), dir.path().join("v1.toml")).unwrap();
    let runs: [(&str, &[&str]); 2] = [
        ("exact", &["exact", "v1.toml", "--out", "exact"]),
        (
            "monte-carlo",
            &[
                "run",
                "v1.toml",
                "--paths",
                "20000",
                "--seed",
                "7",
                "--out",
                "monte-carlo",
            ],
        ),
    ];
    for (folder, args) in runs {
        pathcast(dir.path()).args(args).assert().success();
        for name in [
            "outcomes.csv",
            "events.csv",
            "timeline.csv",
            "conditional.csv",
        ] {
            let got = fs::read(dir.path().join(folder).join(name)).unwrap();
            let want = fs::read(golden.join(folder).join(name)).unwrap();
            assert!(
                got == want,
                "{folder}/{name} differs from the first format's"
            );
        }
    }
}
