//! Progress on long steps: SRS generation, keygen, witness generation,
//! proving, aggregation. A step that is still running after
//! [`SHOW_AFTER`] shows a spinner with its elapsed time on stderr, and its
//! final time when it ends; a quick step prints nothing. Nothing is drawn
//! when stderr is not a terminal (logs, CI, pipes, notebooks), so captured
//! output stays exactly the command's own lines.
//!
//! halo2 reports no progress from inside keygen or proving, so a step is a
//! counter of seconds rather than a bar of work done.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a step runs before its spinner appears.
pub const SHOW_AFTER: Duration = Duration::from_secs(2);

/// A running step; its spinner (if any) stops when it is dropped.
pub struct Step {
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// Start timing `what` ("keygen (k=18)", "proving", ...).
pub fn step(what: &str) -> Step {
    if !std::io::stderr().is_terminal() {
        return Step {
            stop: None,
            ticker: None,
        };
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let what = what.to_string();
    let ticker = std::thread::spawn(move || {
        let start = Instant::now();
        if stopped.recv_timeout(SHOW_AFTER) != Err(RecvTimeoutError::Timeout) {
            return; // done (or abandoned) before it was worth showing
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("a fixed template parses"),
        );
        bar.set_message(what.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let _ = stopped.recv();
        bar.finish_and_clear();
        eprintln!("{what}: {:.1}s", start.elapsed().as_secs_f64());
    });
    Step {
        stop: Some(stop),
        ticker: Some(ticker),
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// This process's peak resident set size so far, in MB (Linux reports
/// `ru_maxrss` in KB). Every job of a split proof reports it.
pub fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads
    // nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    usage.ru_maxrss as f64 / 1024.0
}
