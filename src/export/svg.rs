//! A small SVG chart writer for the HTML report: horizontal bars with intervals, lines and
//! stacked areas over steps or values, and a heat map.
//!
//! Why not a plotting crate: the charts are five simple shapes, and a plotting crate needs a
//! font backend to measure text before it can lay out axes, which a self-contained file with
//! no fonts does not have. Writing the SVG directly keeps every byte deterministic (the
//! report is pinned by tests) and lets the browser lay out the text with the page's fonts.

use std::fmt::Write;

/// Okabe-Ito colours: distinguishable with the common kinds of colour blindness.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];
/// The colour of what is left over (not decided yet).
pub const REST: &str = "#D9D9D9";
const WIDTH: f64 = 820.0;
const FONT: &str = "font-family=\"system-ui, sans-serif\" font-size=\"12\"";
/// Longest label drawn in a chart; the full text is in its tooltip and in the tables.
const MAX_LABEL: usize = 42;

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The line style of series `i`: solid for the first round of colours, then dashed, dotted.
fn dash(i: usize) -> &'static str {
    match i / PALETTE.len() % 3 {
        0 => "",
        1 => " stroke-dasharray=\"6 3\"",
        _ => " stroke-dasharray=\"2 2\"",
    }
}

/// Text for an SVG or HTML document: the five XML special characters escaped, and control
/// characters dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A label cut to [`MAX_LABEL`] characters with an ellipsis.
fn short(label: &str) -> String {
    cut(label, MAX_LABEL)
}

fn cut(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        label.chars().take(max - 1).collect::<String>() + "\u{2026}"
    }
}

/// A percentage for an axis or a bar: "12%", "3.4%", "0.05%".
pub fn percent(p: f64) -> String {
    let pct = p * 100.0;
    let digits = if pct == 0.0 || pct.abs() >= 10.0 {
        0
    } else if pct.abs() >= 1.0 {
        1
    } else {
        2
    };
    format!("{pct:.digits$}%")
}

/// The smallest "round" number (1, 2 or 5 times a power of ten, times 4 for the four grid
/// steps of an axis) at or above `x`, so that axis ticks read 10%, 20%, not 11%, 23%.
pub fn nice_ceiling(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return 1.0;
    }
    let step = x / 4.0;
    let power = 10f64.powf(step.log10().floor());
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= step * (1.0 - 1e-12))
        .unwrap_or(10.0 * power);
    nice * 4.0
}

/// One bar: a label, a value, and an optional interval drawn as a whisker.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// A named series of values, one per x position.
pub struct Series {
    pub label: String,
    pub values: Vec<f64>,
}

struct Canvas {
    height: f64,
    body: String,
}

impl Canvas {
    fn new(height: f64, title: &str) -> Canvas {
        let mut canvas = Canvas {
            height,
            body: String::new(),
        };
        canvas.text(
            WIDTH / 2.0,
            20.0,
            "middle",
            title,
            "font-weight=\"600\" font-size=\"14\"",
        );
        canvas
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, text: &str, extra: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" {extra}>{}</text>",
            escape(text)
        );
    }

    /// A text with its full version as a tooltip.
    fn label(&mut self, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"><title>{}</title>{}</text>",
            escape(text),
            escape(&short(text))
        );
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
        let _ = write!(
            self.body,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\"/>"
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.body,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\">\
             <title>{}</title></rect>",
            w.max(0.0),
            h.max(0.0),
            escape(tip)
        );
    }

    fn path(
        &mut self,
        points: &[(f64, f64)],
        fill: Option<&str>,
        stroke: &str,
        style: &str,
        tip: &str,
    ) {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
        }
        if fill.is_some() {
            d.push_str(" Z");
        }
        let _ = write!(
            self.body,
            "<path d=\"{d}\" fill=\"{}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{style}><title>{}</title></path>",
            fill.unwrap_or("none"),
            escape(tip)
        );
    }

    /// A legend row of coloured keys below the plot, wrapping as needed.
    /// `keys`: label, colour, and the line style of a line series (`None` for an area).
    fn legend(&mut self, top: f64, keys: &[(&str, &str, Option<&str>)]) -> f64 {
        let (mut x, mut y) = (60.0, top);
        for &(label, fill, line) in keys {
            let width = 24.0 + 7.0 * short(label).chars().count() as f64;
            if x + width > WIDTH - 20.0 {
                x = 60.0;
                y += 18.0;
            }
            if let Some(style) = line {
                let _ = write!(
                    self.body,
                    "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{fill}\" \
                     stroke-width=\"2\"{style}/>",
                    y - 3.0,
                    x + 12.0,
                    y - 3.0
                );
            } else {
                self.rect(x, y - 9.0, 12.0, 12.0, fill, label);
            }
            self.label(x + 16.0, y + 1.0, "start", label);
            x += width;
        }
        y + 18.0
    }

    fn finish(self, description: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {:.0}\" role=\"img\" \
             {FONT}><desc>{}</desc>{}</svg>",
            self.height,
            escape(description),
            self.body
        )
    }
}

/// Horizontal bars from `low` to `high` on the value axis (0 to 1 for probabilities; a
/// symmetric range around 0 for differences), with whiskers for intervals.
pub fn bars(title: &str, bars: &[Bar], axis: (f64, f64)) -> String {
    const ROW: f64 = 26.0;
    let (left, right) = (300.0, WIDTH - 70.0);
    let top = 36.0;
    let height = top + ROW * bars.len() as f64 + 40.0;
    let mut c = Canvas::new(height, title);
    let span = (axis.1 - axis.0).max(f64::MIN_POSITIVE);
    let x = |v: f64| left + (v.clamp(axis.0, axis.1) - axis.0) / span * (right - left);
    let bottom = top + ROW * bars.len() as f64;
    for i in 0..=4 {
        let v = axis.0 + span * f64::from(i) / 4.0;
        c.line((x(v), top), (x(v), bottom), "#E5E5E5");
        c.text(x(v), bottom + 16.0, "middle", &percent(v), "fill=\"#555\"");
    }
    let zero = x(0.0);
    for (i, bar) in bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        c.label(left - 8.0, y + ROW / 2.0 + 4.0, "end", &bar.label);
        let (a, b) = (zero.min(x(bar.value)), zero.max(x(bar.value)));
        let tip = format!("{}: {}", bar.label, percent(bar.value));
        c.rect(a, y + 5.0, b - a, ROW - 10.0, colour(0), &tip);
        let mut end = b;
        if let Some((low, high)) = bar.interval {
            let mid = y + ROW / 2.0;
            c.line((x(low), mid), (x(high), mid), "#222");
            c.line((x(low), mid - 5.0), (x(low), mid + 5.0), "#222");
            c.line((x(high), mid - 5.0), (x(high), mid + 5.0), "#222");
            end = end.max(x(high));
        }
        c.text(
            end + 6.0,
            y + ROW / 2.0 + 4.0,
            "start",
            &percent(bar.value),
            "",
        );
    }
    c.line((zero, top), (zero, bottom), "#444");
    c.finish(title)
}

/// A tornado: for each row a bar from its low to its high value, around a base line; bars
/// whose high value lies above the base are blue, below it orange.
pub fn tornado(title: &str, rows: &[(String, f64, f64)], base: f64, axis: (f64, f64)) -> String {
    const ROW: f64 = 24.0;
    let (left, right) = (330.0, WIDTH - 30.0);
    let top = 36.0;
    let bottom = top + ROW * rows.len() as f64;
    let mut c = Canvas::new(bottom + 60.0, title);
    let span = (axis.1 - axis.0).max(f64::MIN_POSITIVE);
    let x = |v: f64| left + (v.clamp(axis.0, axis.1) - axis.0) / span * (right - left);
    for i in 0..=4 {
        let v = axis.0 + span * f64::from(i) / 4.0;
        c.line((x(v), top), (x(v), bottom), "#E5E5E5");
        c.text(x(v), bottom + 16.0, "middle", &percent(v), "fill=\"#555\"");
    }
    for (i, (label, low, high)) in rows.iter().enumerate() {
        let y = top + ROW * i as f64;
        c.label(left - 8.0, y + ROW / 2.0 + 4.0, "end", label);
        let fill = if high >= low { colour(0) } else { colour(1) };
        let tip = format!(
            "{label}: {} (low) to {} (high)",
            percent(*low),
            percent(*high)
        );
        let (a, b) = (x(low.min(*high)), x(low.max(*high)));
        c.rect(a, y + 4.0, b - a, ROW - 8.0, fill, &tip);
    }
    c.line((x(base), top - 4.0), (x(base), bottom + 4.0), "#000");
    c.text(
        x(base),
        bottom + 34.0,
        "middle",
        &format!("base {}", percent(base)),
        "",
    );
    let keys = [
        ("high value above the base", colour(0), None),
        ("high value below the base", colour(1), None),
    ];
    let height = c.legend(bottom + 52.0, &keys);
    c.height = height;
    c.finish(title)
}

/// The x axis of a chart over steps or values: a label per position, some of them shown.
pub struct XAxis {
    pub title: String,
    pub labels: Vec<String>,
}

struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    points: usize,
}

impl Plot {
    fn x(&self, i: usize) -> f64 {
        if self.points <= 1 {
            return (self.left + self.right) / 2.0;
        }
        self.left + (self.right - self.left) * i as f64 / (self.points - 1) as f64
    }

    fn y(&self, p: f64) -> f64 {
        self.bottom - p.clamp(0.0, 1.0) * (self.bottom - self.top)
    }

    /// Axes, grid and tick labels: probability from 0 to 100% up, the x labels along.
    fn axes(&self, c: &mut Canvas, x_axis: &XAxis, y_title: &str) {
        for i in 0..=4 {
            let p = f64::from(i) / 4.0;
            c.line((self.left, self.y(p)), (self.right, self.y(p)), "#E5E5E5");
            c.text(
                self.left - 6.0,
                self.y(p) + 4.0,
                "end",
                &percent(p),
                "fill=\"#555\"",
            );
        }
        let shown = 7.min(self.points).max(1);
        for k in 0..shown {
            let i = if shown == 1 {
                0
            } else {
                k * (self.points - 1) / (shown - 1)
            };
            let x = self.x(i);
            c.line((x, self.bottom), (x, self.bottom + 4.0), "#444");
            if let Some(label) = x_axis.labels.get(i) {
                c.text(x, self.bottom + 17.0, "middle", label, "fill=\"#555\"");
            }
        }
        c.line((self.left, self.bottom), (self.right, self.bottom), "#444");
        c.line((self.left, self.top), (self.left, self.bottom), "#444");
        c.text(
            (self.left + self.right) / 2.0,
            self.bottom + 34.0,
            "middle",
            &x_axis.title,
            "",
        );
        let _ = write!(
            c.body,
            "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (self.top + self.bottom) / 2.0,
            escape(y_title)
        );
    }
}

fn plot(points: usize) -> Plot {
    Plot {
        left: 70.0,
        right: WIDTH - 50.0,
        top: 36.0,
        bottom: 276.0,
        points,
    }
}

/// Lines of probabilities (0 to 1) over the x axis, with a legend.
pub fn lines(title: &str, x_axis: &XAxis, series: &[Series], y_title: &str) -> String {
    let p = plot(x_axis.labels.len());
    let legend_rows = 1.0 + (series.len() / 4) as f64;
    let mut c = Canvas::new(p.bottom + 50.0 + 18.0 * legend_rows + 10.0, title);
    p.axes(&mut c, x_axis, y_title);
    let mut keys = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| (p.x(i), p.y(v)))
            .collect();
        c.path(&points, None, colour(k), dash(k), &s.label);
        keys.push((s.label.as_str(), colour(k), Some(dash(k))));
    }
    let height = c.legend(p.bottom + 56.0, &keys);
    c.height = c.height.max(height);
    c.finish(title)
}

/// Series stacked on each other (each a share of 1), and what is left on top, with a legend.
pub fn stacked(
    title: &str,
    x_axis: &XAxis,
    series: &[Series],
    rest: &str,
    y_title: &str,
) -> String {
    let n = x_axis.labels.len();
    let p = plot(n);
    let legend_rows = 1.0 + ((series.len() + 1) / 4) as f64;
    let mut c = Canvas::new(p.bottom + 50.0 + 18.0 * legend_rows + 10.0, title);
    let mut below = vec![0.0; n];
    let mut keys = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let above: Vec<f64> = below.iter().zip(&s.values).map(|(b, v)| b + v).collect();
        let mut outline: Vec<(f64, f64)> = (0..n).map(|i| (p.x(i), p.y(above[i]))).collect();
        outline.extend((0..n).rev().map(|i| (p.x(i), p.y(below[i]))));
        c.path(&outline, Some(colour(k)), "none", "", &s.label);
        keys.push((s.label.as_str(), colour(k), None));
        below = above;
    }
    let mut outline: Vec<(f64, f64)> = (0..n).map(|i| (p.x(i), p.y(1.0))).collect();
    outline.extend((0..n).rev().map(|i| (p.x(i), p.y(below[i]))));
    c.path(&outline, Some(REST), "none", "", rest);
    keys.push((rest, REST, None));
    p.axes(&mut c, x_axis, y_title);
    let height = c.legend(p.bottom + 56.0, &keys);
    c.height = c.height.max(height);
    c.finish(title)
}

/// White at 0 to dark blue (#08519C) at 1.
fn shade(p: f64) -> String {
    let p = p.clamp(0.0, 1.0);
    let mix = |dark: f64| (255.0 - p * (255.0 - dark)).round() as u8;
    format!("rgb({},{},{})", mix(8.0), mix(81.0), mix(156.0))
}

/// A table of probabilities as coloured cells (empty cells for undefined values).
pub fn heat_map(
    title: &str,
    rows: &[String],
    columns: &[String],
    values: &[Vec<Option<f64>>],
) -> String {
    const CELL_H: f64 = 24.0;
    const COLUMN_LABEL: usize = 28;
    let left = 330.0;
    let width = ((WIDTH - left - 60.0) / columns.len().max(1) as f64).min(120.0);
    let top = 150.0;
    let mut c = Canvas::new(top + CELL_H * rows.len() as f64 + 20.0, title);
    for (j, column) in columns.iter().enumerate() {
        let x = left + width * (j as f64 + 0.5);
        let _ = write!(
            c.body,
            "<text transform=\"translate({x:.1} {:.1}) rotate(-35)\" text-anchor=\"start\">\
             <title>{}</title>{}</text>",
            top - 8.0,
            escape(column),
            escape(&cut(column, COLUMN_LABEL))
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + CELL_H * i as f64;
        c.label(left - 8.0, y + CELL_H / 2.0 + 4.0, "end", row);
        for (j, value) in values[i].iter().enumerate() {
            let x = left + width * j as f64;
            let (fill, text) = match value {
                Some(p) => (shade(*p), percent(*p)),
                None => ("#F3F3F3".to_string(), String::new()),
            };
            let tip = format!(
                "{row} / {}: {}",
                columns[j],
                if text.is_empty() { "undefined" } else { &text }
            );
            c.rect(x + 1.0, y + 1.0, width - 2.0, CELL_H - 2.0, &fill, &tip);
            let ink = if value.is_some_and(|p| p > 0.55) {
                "#FFF"
            } else {
                "#111"
            };
            c.text(
                x + width / 2.0,
                y + CELL_H / 2.0 + 4.0,
                "middle",
                &text,
                &format!("fill=\"{ink}\""),
            );
        }
    }
    c.finish(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_cut() {
        assert_eq!(escape("a<b & \"c\"\u{7}"), "a&lt;b &amp; &quot;c&quot;");
        let long = "x".repeat(100);
        assert_eq!(short(&long).chars().count(), MAX_LABEL);
        let svg = bars(
            "<t>",
            &[Bar {
                label: "=1+1 <script>".into(),
                value: 0.25,
                interval: Some((0.2, 0.3)),
            }],
            (0.0, 1.0),
        );
        assert!(!svg.contains("<script>") && !svg.contains("<t>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("25%"));
    }

    #[test]
    fn stacked_areas_add_up_to_the_top() {
        let x_axis = XAxis {
            title: "date".into(),
            labels: vec!["a".into(), "b".into()],
        };
        let series = [
            Series {
                label: "one".into(),
                values: vec![0.25, 0.5],
            },
            Series {
                label: "two".into(),
                values: vec![0.25, 0.5],
            },
        ];
        let svg = stacked("t", &x_axis, &series, "rest", "probability");
        // At the second position the two series fill the plot: the rest is a line at the top.
        let p = plot(2);
        let top = format!("{:.1},{:.1}", p.x(1), p.y(1.0));
        assert!(svg.matches(&top).count() >= 2, "{svg}");
        assert_eq!(svg.matches("<path").count(), 3);
    }

    #[test]
    fn axes_end_at_round_numbers() {
        assert!((nice_ceiling(0.45) - 0.8).abs() < 1e-12);
        assert!((nice_ceiling(0.41) - 0.8).abs() < 1e-12);
        assert!((nice_ceiling(0.08) - 0.08).abs() < 1e-12);
        assert!((nice_ceiling(0.031) - 0.04).abs() < 1e-12);
    }

    #[test]
    fn percentages_read_well() {
        assert_eq!(percent(0.378), "38%");
        assert_eq!(percent(0.034), "3.4%");
        assert_eq!(percent(0.0005), "0.05%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(-0.021), "-2.1%");
    }
}
