//! Ctrl-C (SIGINT) and SIGTERM during a `run` or `reproduce`. The first
//! signal asks the run to stop ([`StopFlag`]): no new task starts, a running
//! training stops after its next epoch checkpoint, other running tasks
//! finish; the run then returns, the command prints which tasks stopped
//! unfinished and the command that resumes them, and `main` exits with 128 +
//! the signal's number (130 for Ctrl-C, 143 for SIGTERM), as a shell
//! expects. A second signal ends the process at once by the signal's default
//! action. With `--executor slurm` the first Ctrl-C detaches instead (the
//! jobs go on).
//!
//! Stopping at once is safe too, because the cache never depends on a clean
//! exit (see `exec::store`): finished tasks are published atomically, a
//! running task's work directory stays marked unfinished and resumes from its
//! last checkpoint, and the operating system releases the task locks. This is
//! exactly the state a kill -9 leaves, which `just soak` checks.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use tempora::workspace::StopFlag;

/// Labels shown in the message before "and N more".
const SHOWN: usize = 6;

/// The stop flag SIGINT and SIGTERM set, and which of them arrived first.
pub struct Interrupt {
    stop: StopFlag,
    signal: Arc<AtomicI32>,
}

/// Catches SIGINT and SIGTERM for the rest of the process: the first sets
/// the stop flag (printing `note` once), a second ends the process.
pub fn install(note: &'static str) -> anyhow::Result<Interrupt> {
    let stop = StopFlag::new();
    let signal = Arc::new(AtomicI32::new(0));
    for sig in [SIGINT, SIGTERM] {
        // Registered first: it acts only once the flag is already set.
        signal_hook::flag::register_conditional_default(sig, stop.shared())
            .context("catching Ctrl-C and SIGTERM")?;
    }
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("catching Ctrl-C and SIGTERM")?;
    let (flag, first) = (stop.clone(), signal.clone());
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                first.store(sig, Ordering::SeqCst);
                flag.request();
                eprintln!(
                    "\n{} received: {note} (send it again to stop at once)",
                    name(sig)
                );
            }
        })
        .context("starting the interrupt watcher")?;
    Ok(Interrupt { stop, signal })
}

impl Interrupt {
    /// The flag the run honours.
    pub fn stop(&self) -> StopFlag {
        self.stop.clone()
    }

    /// The first signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }

    /// When a signal arrived: the message naming the tasks that stopped
    /// unfinished and the resume command, and the exit code (128 + signal).
    pub fn ending(&self, stopped: &[String], not_started: usize) -> Option<(String, ExitCode)> {
        let sig = self.signal()?;
        let code = u8::try_from(128 + sig).unwrap_or(1);
        Some((message(sig, stopped, not_started), ExitCode::from(code)))
    }
}

fn name(signal: i32) -> &'static str {
    if signal == SIGINT {
        "Ctrl-C (SIGINT)"
    } else {
        "SIGTERM"
    }
}

/// The one message printed after `signal` stopped the run, with the tasks
/// it left unfinished.
fn message(signal: i32, running: &[String], not_started: usize) -> String {
    let name = name(signal);
    let what = match running.len() {
        0 => "no task was stopped mid-way".to_owned(),
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
    let waiting = match not_started {
        0 => String::new(),
        n => format!(", {n} not started"),
    };
    format!(
        "interrupted by {name}: {what}{waiting}. Finished tasks are cached; unfinished ones \
         resume from their last checkpoint. Resume with: {}",
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
        let text = message(SIGTERM, &labels, 0);
        assert!(text.starts_with("interrupted by SIGTERM: 8 task(s) stopped unfinished"));
        assert!(text.contains("train O-net fold=0; ") && text.contains(" and 2 more"));
        assert!(text.contains("Resume with: tempora"));
        let none = message(SIGINT, &[], 3);
        assert!(none.contains("Ctrl-C (SIGINT): no task was stopped mid-way, 3 not started"));
    }

    #[test]
    fn arguments_are_quoted_for_the_shell() {
        assert_eq!(quote("experiments/table1.toml"), "experiments/table1.toml");
        assert_eq!(quote("my spec.toml"), "'my spec.toml'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
