//! Progress of a long run, on stderr: a bar on a terminal; a plain line every few seconds
//! otherwise, so that a run under a batch scheduler or `nohup` is not silent; nothing with
//! `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::fmt::Write;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a plain progress line is written.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar on a terminal, plain lines elsewhere.
    Auto,
    Quiet,
}

/// The progress of a run of a known number of paths.
pub struct Progress {
    kind: Kind,
    done: AtomicU64,
    total: u64,
    hidden: AtomicBool,
}

enum Kind {
    Bar(ProgressBar),
    /// The start of the run and when the last line was written.
    Plain(Mutex<(Instant, Instant)>),
    Hidden,
}

pub fn new(paths: u64, mode: Mode) -> Progress {
    let kind = if mode == Mode::Quiet {
        Kind::Hidden
    } else if std::io::stderr().is_terminal() {
        Kind::Bar(bar(paths))
    } else {
        let now = Instant::now();
        Kind::Plain(Mutex::new((now, now)))
    };
    Progress {
        kind,
        done: AtomicU64::new(0),
        total: paths,
        hidden: AtomicBool::new(false),
    }
}

fn bar(paths: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(paths), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "[{elapsed_precise}] {wide_bar} {human_pos}/{human_len} paths ({rate}, {eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("rate", |state: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{:.1} million/s", state.per_sec() / 1e6);
    });
    bar.set_style(style);
    bar
}

/// "3200000 of 10000000 paths (32%), 4.9 million/s, 2 s left".
fn plain_line(done: u64, total: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let rate = done as f64 / seconds;
    let left = if rate > 0.0 {
        format!(", {:.0} s left", total.saturating_sub(done) as f64 / rate)
    } else {
        String::new()
    };
    format!(
        "pathcast: {done} of {total} paths ({:.0}%), {:.1} million/s{left}",
        done as f64 / total.max(1) as f64 * 100.0,
        rate / 1e6
    )
}

impl Progress {
    /// `done` paths of the run are finished.
    pub fn set_position(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        if self.hidden.load(Ordering::Relaxed) {
            return;
        }
        match &self.kind {
            Kind::Bar(bar) => bar.set_position(done),
            Kind::Plain(times) => {
                let mut times = times.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if now.duration_since(times.1) >= PLAIN_EVERY && done < self.total {
                    times.1 = now;
                    eprintln!("{}", plain_line(done, self.total, now - times.0));
                }
            }
            Kind::Hidden => {}
        }
    }

    /// `more` paths are finished.
    pub fn inc(&self, more: u64) {
        let done = self.done.fetch_add(more, Ordering::Relaxed) + more;
        self.set_position(done);
    }

    /// Nothing to show after all (the work is solved exactly).
    pub fn hide(&self) {
        self.hidden.store(true, Ordering::Relaxed);
        if let Kind::Bar(bar) = &self.kind {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    pub fn finish_and_clear(&self) {
        if let Kind::Bar(bar) = &self.kind {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plain_line_says_how_far_and_how_fast() {
        let line = super::plain_line(2_500_000, 10_000_000, std::time::Duration::from_secs(1));
        assert_eq!(
            line,
            "pathcast: 2500000 of 10000000 paths (25%), 2.5 million/s, 3 s left"
        );
    }
}
