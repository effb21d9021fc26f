//! Progress on stderr while a plan runs.

/// Progress on stderr: a bar on a terminal, plain lines otherwise. The bar
/// redraws only when told (no ticker thread: fork needs a single thread).
pub enum Progress {
    Bar(indicatif::ProgressBar),
    Lines {
        total: usize,
        done: usize,
        /// The planner's forecast of the time left, once there is one.
        left: Option<String>,
    },
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} rounds, {prefix} left — {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                total,
                done: 0,
                left: None,
            }
        }
    }

    /// The planner's forecast of the time left (the ETA).
    pub fn left(&mut self, left: std::time::Duration) {
        let text = mpmt_core::schema::units::fmt_secs(left.as_secs_f64());
        match self {
            Progress::Bar(b) => b.set_prefix(text),
            Progress::Lines { left: l, .. } => *l = Some(text),
        }
    }

    /// Takes `n` steps off the total (rounds that will not run).
    pub fn shrink(&mut self, n: usize) {
        match self {
            Progress::Bar(b) => {
                let len = b.length().unwrap_or(0);
                b.set_length(len.saturating_sub(n as u64));
            }
            Progress::Lines { total, .. } => *total = total.saturating_sub(n),
        }
    }

    /// Adds `n` steps to the total (extra rounds).
    pub fn extend(&mut self, n: usize) {
        match self {
            Progress::Bar(b) => b.inc_length(n as u64),
            Progress::Lines { total, .. } => *total += n,
        }
    }

    pub fn start(&mut self, label: &str) {
        match self {
            Progress::Bar(b) => b.set_message(label.to_string()),
            Progress::Lines { total, done, left } => {
                let left = left
                    .as_deref()
                    .map(|l| format!(", {l} left"))
                    .unwrap_or_default();
                crate::term::err(format_args!("[{:>3}/{total}{left}] {label:<52}", *done + 1))
            }
        }
    }

    pub fn done(&mut self, outcome: &str) {
        match self {
            Progress::Bar(b) => {
                b.println(format!("{} {outcome}", b.message()));
                b.inc(1);
            }
            Progress::Lines { done, .. } => {
                *done += 1;
                crate::note!(" {outcome}");
            }
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
