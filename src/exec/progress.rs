//! Terminal progress (indicatif): one overall bar over every job of the run and
//! one line per running job with its latest [`Update`] (epoch, loss, validation
//! accuracy) and an ETA computed from its steps.
//!
//! Hidden automatically when stderr is not a terminal. Knows nothing about
//! what jobs compute: the message is whatever the job reported.

use std::collections::BTreeMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::runner::{JobInfo, Observer, Outcome, Update};

/// Overall bar template: elapsed time, bar, jobs done.
const OVERALL_TEMPLATE: &str =
    "{elapsed_precise:.dim} [{bar:30.cyan/blue}] {pos}/{len} tasks {msg}";

/// Per-job line template: label, steps, ETA and the job's message.
const LINE_TEMPLATE: &str = "  {prefix:.bold} {pos}/{len} ETA {eta} {wide_msg}";

fn style(template: &str) -> ProgressStyle {
    // The templates are constants; a parse failure would be a bug caught by
    // the tests, and the default style is a sane fallback.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Progress display for one run; an [`Observer`].
pub struct ProgressBars {
    multi: MultiProgress,
    overall: ProgressBar,
    lines: Mutex<BTreeMap<String, ProgressBar>>,
}

impl ProgressBars {
    /// A display drawn on stderr (or nowhere when `hidden`); its overall bar
    /// counts the jobs the run announces ([`Observer::planned`]).
    pub fn new(hidden: bool) -> Self {
        let target = if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0).with_style(style(OVERALL_TEMPLATE)));
        Self {
            multi,
            overall,
            lines: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints a line above the bars.
    pub fn println(&self, line: &str) {
        if self.multi.is_hidden() {
            eprintln!("{line}");
        } else {
            // A failed terminal write only loses a line of progress output.
            let _ = self.multi.println(line);
        }
    }

    /// Removes the bars from the terminal.
    pub fn finish(&self) {
        self.overall.finish_and_clear();
    }

    /// Removes a job's line from the terminal.
    fn clear_line(&self, id: &str) {
        let line = self.lines.lock().ok().and_then(|mut l| l.remove(id));
        if let Some(line) = line {
            line.finish_and_clear();
            self.multi.remove(&line);
        }
    }
}

impl Observer for ProgressBars {
    fn planned(&self, jobs: usize) {
        self.overall.set_length(jobs as u64);
    }

    fn device_queue(&self, slots: usize, reason: &str) {
        self.println(&format!(
            "device queue: up to {slots} training(s) at once ({reason})"
        ));
    }

    fn started(&self, job: &JobInfo) {
        let line = self.multi.add(
            ProgressBar::new(1)
                .with_style(style(LINE_TEMPLATE))
                .with_prefix(job.label.clone()),
        );
        if let Ok(mut lines) = self.lines.lock() {
            lines.insert(job.id.clone(), line);
        }
    }

    fn update(&self, job: &JobInfo, update: &Update) {
        if let Ok(lines) = self.lines.lock() {
            if let Some(line) = lines.get(&job.id) {
                line.set_length(update.total);
                line.set_position(update.done);
                line.set_message(update.message.clone());
            }
        }
    }

    fn finished(&self, job: &JobInfo, result: &Result<Outcome, String>, _seconds: f64) {
        self.clear_line(&job.id);
        self.overall.inc(1);
        if let Err(e) = result {
            self.println(&format!("error: {}: {e}", job.label));
        }
    }

    fn stopped(&self, job: &JobInfo, _seconds: f64) {
        self.clear_line(&job.id);
    }

    fn skipped(&self, job: &JobInfo, failed: &str) {
        self.overall.inc(1);
        self.println(&format!(
            "skipped: {} (depends on failed {failed})",
            job.label
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        assert!(ProgressStyle::with_template(OVERALL_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(LINE_TEMPLATE).is_ok());
    }
}
