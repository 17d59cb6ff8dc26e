//! The progress bar of a long run, on stderr; indicatif draws nothing when stderr is not a
//! terminal, so logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::fmt::Write;

pub fn new(paths: u64) -> ProgressBar {
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
