//! `report.html`: one self-contained page per output folder (inline CSS and SVG, no script, no
//! font or image from the network; a content security policy forbids any request), with the
//! scenario's assumptions and its results as charts and tables.

use super::svg::{self, escape, Bar, Series, XAxis};
use crate::analysis::compare::Comparison;
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::sweep::Sweep;
use crate::model::Model;
use crate::output::percent;
use crate::report::{Method, Report};
use crate::scenario::Loaded;
use crate::simulate::paired::ItemKind;
use std::fmt::Write;

pub const FILE: &str = "report.html";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:880px;margin:2em auto;\
padding:0 1em;color:#111;line-height:1.45}h1{font-size:1.6em;margin-bottom:.2em}\
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}.meta{color:#555}\
table{border-collapse:collapse;margin:1em 0;font-size:.92em}td,th{padding:.25em .6em;\
border-bottom:1px solid #eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
svg{width:100%;height:auto;margin:.5em 0}code{background:#f4f4f4;padding:0 .2em}";

/// A page: a heading block about the scenario, then sections.
struct Page {
    html: String,
}

impl Page {
    fn new(loaded: &Loaded, heading: &str, method: &str) -> Page {
        let model = &loaded.model;
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n\
             <p class=\"meta\">{} &middot; {} &middot; pathcast {}</p>\n",
            escape(&format!("{heading}: {}", model.title())),
            escape(model.title()),
            escape(heading),
            escape(method),
            env!("CARGO_PKG_VERSION"),
        );
        let mut facts = vec![format!(
            "{} steps of one {}{}",
            model.horizon(),
            model.step(),
            model
                .start()
                .map(|d| format!(", from {d}"))
                .unwrap_or_default()
        )];
        if !loaded.overrides.is_empty() {
            facts.push(format!(
                "overrides: --set {}",
                loaded.overrides.join(", --set ")
            ));
        }
        let _ = writeln!(html, "<p class=\"meta\">{}</p>", escape(&facts.join(" · ")));
        if !model.description().trim().is_empty() {
            html.push_str("<h2>Assumptions</h2>\n");
            for paragraph in model.description().split("\n\n") {
                let _ = writeln!(html, "<p>{}</p>", escape(paragraph.trim()));
            }
        }
        if !model.sources().is_empty() {
            html.push_str("<p class=\"meta\">Sources:</p><ul>");
            for source in model.sources() {
                let _ = write!(html, "<li>{}</li>", escape(source));
            }
            html.push_str("</ul>\n");
        }
        Page { html }
    }

    fn section(&mut self, title: &str, body: &str) {
        let _ = writeln!(self.html, "<h2>{}</h2>\n{body}", escape(title));
    }

    fn finish(mut self) -> Vec<u8> {
        self.html.push_str("</body></html>\n");
        self.html.into_bytes()
    }
}

fn table(header: &[&str], rows: &[Vec<String>], numeric_from: usize) -> String {
    let mut html = String::from("<table><tr>");
    for h in header {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i >= numeric_from {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(html, "<td{class}>{}</td>", escape(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>\n");
    html
}

/// Dates of the steps when the scenario has a start, else step numbers.
fn step_axis(model: &Model) -> XAxis {
    XAxis {
        title: if model.start().is_some() {
            "date (start of the step)".into()
        } else {
            model.step().to_string()
        },
        labels: (1..=model.horizon())
            .map(|t| {
                model
                    .date_of(t)
                    .map_or_else(|| t.to_string(), |d| d.to_string())
            })
            .collect(),
    }
}

fn method(report: &Report) -> String {
    match &report.method {
        Method::MonteCarlo { paths, seed, .. } => {
            format!("Monte Carlo, {paths} paths, seed {seed}; bars show 95% intervals")
        }
        Method::Exact => "exact".to_string(),
    }
}

/// Each line's probability of having happened by each step, labelled.
fn cumulative(lines: &[crate::report::Line]) -> Vec<Series> {
    lines
        .iter()
        .map(|l| Series {
            label: l.label.clone(),
            values: l.by_step_cumulative[1..].to_vec(),
        })
        .collect()
}

/// For the events that can end: when they are in effect, and how often they start.
fn spells_section(page: &mut Page, axis: &XAxis, report: &Report) {
    let ending: Vec<(&crate::report::Line, &crate::report::Activity)> = report
        .events
        .iter()
        .filter_map(|l| Some((l, l.activity.as_ref()?)))
        .collect();
    if ending.is_empty() {
        return;
    }
    let series: Vec<Series> = ending
        .iter()
        .map(|(l, a)| Series {
            label: l.label.clone(),
            values: a.in_effect[1..].to_vec(),
        })
        .collect();
    let rows: Vec<Vec<String>> = ending
        .iter()
        .map(|(l, a)| {
            vec![
                l.label.clone(),
                l.estimate.probability.map(percent).unwrap_or_default(),
                format!("{:.2}", a.expected_starts),
                a.starts_interval
                    .map(|(low, high)| format!("{low:.2} - {high:.2}"))
                    .unwrap_or_else(|| "exact".into()),
            ]
        })
        .collect();
    page.section(
        "Events that end: in effect over time",
        &(svg::lines(
            "Probability that each event is in effect",
            axis,
            &series,
            "probability",
        ) + &table(
            &["event", "ever starts", "expected starts", "95% interval"],
            &rows,
            1,
        ) + "<p class=\"meta\">A path that ended keeps the state it ended in.</p>"),
    );
}

/// The report of a `run` or `exact`.
pub fn run(loaded: &Loaded, report: &Report, more: &[(String, String)]) -> Vec<u8> {
    let model = &loaded.model;
    let mut page = Page::new(loaded, "Results", &method(report));
    // Sections that come first when there are any: a run with uncertain inputs leads with
    // what the doubt about them does.
    for (title, body) in more {
        page.section(title, body);
    }
    let bars: Vec<Bar> = report
        .outcomes
        .iter()
        .map(|l| Bar {
            label: l.label.clone(),
            value: l.estimate.probability.unwrap_or(0.0),
            interval: l.estimate.interval,
        })
        .collect();
    let rows: Vec<Vec<String>> = report
        .outcomes
        .iter()
        .map(|l| {
            vec![
                l.label.clone(),
                l.estimate.probability.map(percent).unwrap_or_default(),
                l.estimate
                    .interval
                    .map(|(a, b)| format!("{} - {}", percent(a), percent(b)))
                    .unwrap_or_else(|| "exact".into()),
                l.timing()
                    .quantile(0.5)
                    .map(|t| model.describe_step(t))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    page.section(
        "Outcomes",
        &(svg::bars("How paths end", &bars, (0.0, 1.0))
            + &table(
                &["outcome", "probability", "95% interval", "median time"],
                &rows,
                1,
            )),
    );
    let axis = step_axis(model);
    let ended = cumulative(&report.outcomes);
    page.section(
        "How paths end over time",
        &(svg::stacked(
            "Cumulative probability of each outcome",
            &axis,
            &ended,
            "Not decided yet",
            "probability",
        ) + "<p class=\"meta\">An outcome reached only at the horizon appears at the last step.</p>"),
    );
    let events = cumulative(&report.events);
    page.section(
        "Events by date",
        &svg::lines(
            "Probability that each event has happened",
            &axis,
            &events,
            "probability",
        ),
    );
    spells_section(&mut page, &axis, report);
    let columns: Vec<String> = model.outcomes().iter().map(|o| o.label.clone()).collect();
    let (labels, values): (Vec<String>, Vec<Vec<Option<f64>>>) = report
        .conditional
        .iter()
        .map(|c| {
            let event = &model.events()[c.event].label;
            (
                format!("{event}: {}", if c.happened { "yes" } else { "no" }),
                c.outcomes.iter().map(|e| e.probability).collect(),
            )
        })
        .unzip();
    page.section(
        "Outcomes given each event",
        &(svg::heat_map(
            "P(outcome | the event happened, or not)",
            &labels,
            &columns,
            &values,
        ) + "<p class=\"meta\">Empty cells: the condition never holds.</p>"),
    );
    page.finish()
}

/// The report of `pathcast sensitivity`: a tornado per outcome.
pub fn sensitivity(loaded: &Loaded, result: &Sensitivity) -> Vec<u8> {
    let mut page = Page::new(loaded, "Sensitivity", &result.used.describe());
    for outcome in loaded.model.outcomes() {
        let rows: Vec<_> = result
            .rows
            .iter()
            .filter(|r| r.kind == ItemKind::Outcome && r.id == outcome.id)
            .take(15)
            .collect();
        let Some(first) = rows.first() else { continue };
        let base = first.base.probability.unwrap_or(0.0);
        let bars: Vec<(String, f64, f64)> = rows
            .iter()
            .map(|r| {
                (
                    r.varied.parameter.key.clone(),
                    r.low.probability.unwrap_or(0.0),
                    r.high.probability.unwrap_or(0.0),
                )
            })
            .collect();
        let (low, high) = bars.iter().fold((base, base), |(a, b), r| {
            (a.min(r.1).min(r.2), b.max(r.1).max(r.2))
        });
        let pad = ((high - low) * 0.1).max(0.01);
        page.section(
            &outcome.label,
            &svg::tornado(
                "Probability at each parameter's low and high value",
                &bars,
                base,
                ((low - pad).max(0.0), (high + pad).min(1.0)),
            ),
        );
    }
    page.finish()
}

/// The report of `pathcast sweep`: lines over one parameter, or a heat map per outcome over
/// a grid of two.
pub fn sweep(loaded: &Loaded, result: &Sweep) -> Vec<u8> {
    let model = &loaded.model;
    let mut page = Page::new(loaded, "Sweep", &result.used.describe());
    let outcome_of = |point: &crate::analysis::sweep::Point, o: usize| {
        point.report.outcomes[o].estimate.probability.unwrap_or(0.0)
    };
    match &result.axes[..] {
        [axis] => {
            let x_axis = XAxis {
                title: axis.parameter.key.clone(),
                labels: axis.values.iter().map(|v| format!("{v}")).collect(),
            };
            let series: Vec<Series> = model
                .outcomes()
                .iter()
                .enumerate()
                .map(|(o, outcome)| Series {
                    label: outcome.label.clone(),
                    values: result.points.iter().map(|p| outcome_of(p, o)).collect(),
                })
                .collect();
            page.section(
                "Outcomes",
                &svg::lines(
                    "Probability of each outcome",
                    &x_axis,
                    &series,
                    "probability",
                ),
            );
        }
        [rows, columns] => {
            for (o, outcome) in model.outcomes().iter().enumerate() {
                let values: Vec<Vec<Option<f64>>> = result
                    .points
                    .chunks(columns.values.len())
                    .map(|chunk| chunk.iter().map(|p| Some(outcome_of(p, o))).collect())
                    .collect();
                let label = |key: &str, v: &f64| format!("{key} = {v}");
                page.section(
                    &outcome.label,
                    &svg::heat_map(
                        &format!(
                            "Probability over {} and {}",
                            rows.parameter.key, columns.parameter.key
                        ),
                        &rows
                            .values
                            .iter()
                            .map(|v| label(&rows.parameter.key, v))
                            .collect::<Vec<_>>(),
                        &columns
                            .values
                            .iter()
                            .map(|v| format!("{v}"))
                            .collect::<Vec<_>>(),
                        &values,
                    ),
                );
            }
        }
        _ => {}
    }
    page.finish()
}

/// The report of `pathcast compare`: the differences to the reference, with their intervals.
pub fn compare(loaded: &Loaded, result: &Comparison) -> Vec<u8> {
    let mut page = Page::new(
        loaded,
        "Comparison",
        &format!(
            "Monte Carlo, {} paths per scenario, seed {}, paired",
            result.paths, result.seed
        ),
    );
    let mut scenarios: Vec<&str> = Vec::new();
    for row in &result.rows {
        if !scenarios.contains(&row.scenario.as_str()) {
            scenarios.push(&row.scenario);
        }
    }
    for scenario in scenarios {
        let rows: Vec<_> = result
            .rows
            .iter()
            .filter(|r| r.scenario == scenario)
            .collect();
        // A symmetric axis of four grid steps: each step, half of it, a round number.
        let widest = svg::nice_ceiling(
            2.0 * rows
                .iter()
                .map(|r| r.interval.0.abs().max(r.interval.1.abs()))
                .fold(0.001, f64::max),
        ) / 2.0;
        let bars: Vec<Bar> = rows
            .iter()
            .map(|r| Bar {
                label: format!("{} ({})", r.label, r.kind.name()),
                value: r.difference,
                interval: Some(r.interval),
            })
            .collect();
        page.section(
            &format!("{scenario} against {}", rows[0].reference),
            &svg::bars(
                "Difference in probability, with 95% paired intervals",
                &bars,
                (-widest, widest),
            ),
        );
    }
    page.finish()
}

/// The sections of a run with uncertain inputs: each outcome's spread across the samples, and
/// the Sobol total index of each input on each outcome.
pub fn uncertainty(
    analysis: &crate::uncertainty::Analysis,
    model: &Model,
) -> Vec<(String, String)> {
    let bars: Vec<Bar> = analysis
        .spread
        .iter()
        .filter(|s| s.kind == ItemKind::Outcome)
        .map(|s| Bar {
            label: s.label.clone(),
            value: s.mean,
            interval: Some((s.p5, s.p95)),
        })
        .collect();
    let spread = svg::bars(
        "Mean over the samples; whiskers from the 5th to the 95th percentile",
        &bars,
        (0.0, 1.0),
    ) + &format!(
        "<p class=\"meta\">{} samples of the uncertain inputs. The whiskers show the doubt about \
         the inputs, not sampling noise.</p>",
        analysis.samples
    );
    let inputs: Vec<String> = analysis.inputs.iter().map(|i| i.key.clone()).collect();
    let outcomes: Vec<String> = model.outcomes().iter().map(|o| o.label.clone()).collect();
    let totals: Vec<Vec<Option<f64>>> = inputs
        .iter()
        .map(|input| {
            model
                .outcomes()
                .iter()
                .map(|o| {
                    analysis
                        .sobol
                        .iter()
                        .find(|a| &a.input == input && a.outcome == o.id)
                        .map(|a| a.indices.total.clamp(0.0, 1.0))
                })
                .collect()
        })
        .collect();
    let sobol = svg::heat_map(
        "Share of each outcome's variance that involves each input (total Sobol index)",
        &inputs,
        &outcomes,
        &totals,
    ) + "<p class=\"meta\">Intervals and first-order indices are in sobol.csv.</p>";
    vec![
        ("Doubt about the inputs".to_string(), spread),
        ("Which input drives the doubt".to_string(), sobol),
    ]
}
