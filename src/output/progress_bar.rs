//! The progress bar of a long run, on stderr; indicatif draws nothing when stderr is not a
//! terminal, so logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn new(paths: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(paths), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} paths \
             ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
