//! What every long command shares on the terminal: Ctrl-C as a request to stop, and a
//! progress display on stderr when it is a terminal (nothing otherwise).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A flag that Ctrl-C sets; a second Ctrl-C exits at once with 130 (every file is written
/// whole and renamed into place, so that is still safe).
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // Only one handler per process; a command installs it once.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}

/// A progress display on stderr, or nothing when stderr is not a terminal. Cleared when
/// dropped.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// A bar counting `total` replications.
    pub fn bar(total: u64) -> Self {
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} replications · {per_sec} · {eta} left")
                    .expect("a valid template"),
            );
            bar
        }))
    }

    /// A spinner with a message and, with `count`, the replications so far.
    pub fn spinner(count: bool) -> Self {
        let template =
            if count { "{spinner} {msg} · {pos} replications · {elapsed}" } else { "{spinner} {msg} · {elapsed}" };
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template(template).expect("a valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }))
    }

    /// Moves the bar (or the spinner's count) to `position`.
    pub fn set(&self, position: u64) {
        if let Some(b) = &self.0 {
            b.set_position(position);
        }
    }

    /// Shows `message`.
    pub fn message(&self, message: impl FnOnce() -> String) {
        if let Some(b) = &self.0 {
            b.set_message(message());
        }
    }

    /// Clears the display.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
