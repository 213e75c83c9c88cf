//! Ctrl-C (SIGINT) and SIGTERM during a local `run` or `reproduce`: the
//! process stops at once with one message saying which tasks were running
//! and the command that resumes them, and exits with 128 + the signal's
//! number (130 for Ctrl-C, 143 for SIGTERM), as a shell expects.
//!
//! Stopping at once is safe because the cache never depends on a clean exit
//! (see `exec::store`): finished tasks are published atomically, a running
//! task's work directory stays marked unfinished and resumes from its last
//! checkpoint, and the operating system releases the task locks. This is
//! exactly the state a kill -9 leaves, which `just soak` checks.
//!
//! Not installed for `--executor slurm`, which catches Ctrl-C itself (to
//! detach while the jobs go on).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use tempora::exec::runner::{JobInfo, Observer, Outcome, Update};

/// Labels shown in the message before "and N more".
const SHOWN: usize = 6;

/// The labels of the jobs running right now.
#[derive(Default)]
pub struct InFlight {
    running: Mutex<BTreeSet<String>>,
}

impl InFlight {
    fn set(&self, label: &str, on: bool) {
        // A poisoned set only loses the message's list, never work.
        if let Ok(mut running) = self.running.lock() {
            if on {
                running.insert(label.to_owned());
            } else {
                running.remove(label);
            }
        }
    }

    fn labels(&self) -> Vec<String> {
        self.running
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Observer for InFlight {
    fn started(&self, job: &JobInfo) {
        self.set(&job.label, true);
    }
    fn update(&self, _: &JobInfo, _: &Update) {}
    fn finished(&self, job: &JobInfo, _: &Result<Outcome, String>, _: f64) {
        self.set(&job.label, false);
    }
    fn skipped(&self, _: &JobInfo, _: &str) {}
}

/// Catches SIGINT and SIGTERM for the rest of the process: on either, prints
/// what was interrupted and how to resume, and exits.
pub fn install(in_flight: Arc<InFlight>) -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("catching Ctrl-C and SIGTERM")?;
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                eprintln!("\n{}", message(signal, &in_flight.labels()));
                std::process::exit(128 + signal);
            }
        })
        .context("starting the interrupt watcher")?;
    Ok(())
}

/// The one message printed on `signal` with `running` tasks.
fn message(signal: i32, running: &[String]) -> String {
    let name = if signal == SIGINT {
        "Ctrl-C (SIGINT)"
    } else {
        "SIGTERM"
    };
    let what = match running.len() {
        0 => "no task was running".to_owned(),
        n => {
            let mut shown: Vec<&str> = running.iter().take(SHOWN).map(String::as_str).collect();
            let more = n.saturating_sub(SHOWN);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            shown.sort_unstable();
            format!("{n} task(s) stopped unfinished: {}{tail}", shown.join("; "))
        }
    };
    format!(
        "interrupted by {name}: {what}. Finished tasks are cached; unfinished ones resume \
         from their last checkpoint. Resume with: {}",
        resume_command()
    )
}

/// This process's command line, quoted for a POSIX shell.
fn resume_command() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 {
                "tempora".to_owned()
            } else {
                quote(&arg)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `arg` as one shell word.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_signal_the_tasks_and_the_resume_command() {
        let labels: Vec<String> = (0..8).map(|i| format!("train O-net fold={i}")).collect();
        let text = message(SIGTERM, &labels);
        assert!(text.starts_with("interrupted by SIGTERM: 8 task(s) stopped unfinished"));
        assert!(text.contains("train O-net fold=0; ") && text.contains(" and 2 more"));
        assert!(text.contains("Resume with: tempora"));
        assert!(message(SIGINT, &[]).contains("Ctrl-C (SIGINT): no task was running"));
    }

    #[test]
    fn arguments_are_quoted_for_the_shell() {
        assert_eq!(quote("experiments/table1.toml"), "experiments/table1.toml");
        assert_eq!(quote("my spec.toml"), "'my spec.toml'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
