//! Progress on stderr while a plan runs.

/// Progress on stderr: a bar on a terminal, plain lines otherwise. The bar
/// redraws only when told (no ticker thread: fork needs a single thread).
pub enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { total: usize, done: usize },
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} cases, ETA {eta} — {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines { total, done: 0 }
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
            Progress::Lines { total, done } => {
                crate::term::err(format_args!("[{:>3}/{total}] {label:<52}", *done + 1))
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
