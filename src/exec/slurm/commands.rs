//! The only place tempora talks to Slurm: `sbatch`, `squeue`, `scancel`,
//! `sacct` (only to explain a failure) and `scontrol show config`, run as subprocesses with an argument vector (no
//! shell) and an environment without the caller's `SLURM_*` variables (a
//! run started inside an allocation must not pass its job's settings on).
//! [`Slurm`] is a trait so the executor can be tested against a fake.

use std::process::Command;

/// Why a Slurm command failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started (Slurm's client tools are missing).
    #[error("cannot run `{program}`: {reason} (are Slurm's client tools installed and on PATH?)")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        reason: String,
    },
    /// The program ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line, for the message.
        command: String,
        /// The exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The output is not what tempora expects.
    #[error("`{command}` printed {output:?}, which tempora cannot read")]
    Output {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

impl CommandError {
    /// Whether retrying may help (the controller was busy or unreachable).
    pub fn is_transient(&self) -> bool {
        match self {
            CommandError::Failed { stderr, .. } => {
                let s = stderr.to_ascii_lowercase();
                [
                    "timed out",
                    "unable to contact",
                    "try again",
                    "resource temporarily unavailable",
                    "connection refused",
                    "socket",
                    "busy",
                ]
                .iter()
                .any(|w| s.contains(w))
            }
            _ => false,
        }
    }
}

/// One array element in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedElement {
    /// The array's job id.
    pub job: u64,
    /// The element's index.
    pub index: u32,
    /// `PENDING`, `RUNNING`, …
    pub state: String,
}

/// What accounting recorded about one array element (`sacct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounted {
    /// The array's job id.
    pub job: u64,
    /// The element's index.
    pub index: u32,
    /// `FAILED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, `CANCELLED by 0`, …
    pub state: String,
    /// `exit:signal`, e.g. `1:0`.
    pub exit_code: String,
    /// Why the job last waited or ended (`None` when Slurm has no reason).
    pub reason: String,
}

impl std::fmt::Display for Accounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Slurm accounting: state {}, exit code {}, reason {}",
            self.state, self.exit_code, self.reason
        )
    }
}

/// What tempora asks of Slurm.
pub trait Slurm: Send + Sync {
    /// `sbatch --parsable ARGS…`: the new job's id.
    fn sbatch(&self, args: &[String]) -> Result<u64, CommandError>;
    /// Every array element of `jobs` still in the queue (one `squeue` call).
    fn squeue(&self, jobs: &[u64]) -> Result<Vec<QueuedElement>, CommandError>;
    /// `scancel JOBS…`.
    fn scancel(&self, jobs: &[u64]) -> Result<(), CommandError>;
    /// The cluster's MaxArraySize.
    fn max_array_size(&self) -> Result<u32, CommandError>;
    /// What accounting recorded about the elements of `jobs` (one `sacct`
    /// call). Fails where the cluster keeps no accounting; callers use it
    /// only to explain a failure and say nothing more when it fails.
    fn sacct(&self, jobs: &[u64]) -> Result<Vec<Accounted>, CommandError>;
}

/// The real Slurm, through its client programs.
#[derive(Debug, Clone, Default)]
pub struct SlurmCommands;

fn run(program: &str, args: &[String]) -> Result<String, CommandError> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SLURM_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().map_err(|e| CommandError::Spawn {
        program: program.to_string(),
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(CommandError::Failed {
            command: format!("{program} {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Job states after which an element never runs again (`squeue --states=all`
/// lists them until the controller forgets the job). NODE_FAIL and PREEMPTED
/// are left out: elements submitted with `--requeue` come back from them.
const TERMINAL_STATES: [&str; 7] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
];

/// Reads `squeue -h -r --states=all -o %F|%K|%T` lines, keeping the live
/// elements of `jobs` (terminal states dropped; REQUEUED and the like kept).
pub fn parse_squeue(text: &str, jobs: &[u64]) -> Vec<QueuedElement> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().split('|');
            let job = parts.next()?.parse().ok()?;
            let index = parts.next()?.parse().ok()?;
            let state = parts.next()?.to_string();
            (jobs.contains(&job) && !TERMINAL_STATES.contains(&state.as_str()))
                .then_some(QueuedElement { job, index, state })
        })
        .collect()
}

/// Reads `sacct -n -P -X -o JobID,State,ExitCode,Reason` lines, keeping the
/// elements of `jobs` (`12_3`; `12_[4-9]`, elements that never started, and
/// lines of other jobs are dropped).
pub fn parse_sacct(text: &str, jobs: &[u64]) -> Vec<Accounted> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().split('|');
            let (job, index) = parts.next()?.split_once('_')?;
            let (job, index) = (job.parse().ok()?, index.parse().ok()?);
            let state = parts.next()?.to_string();
            let exit_code = parts.next()?.to_string();
            let reason = parts.next()?.to_string();
            jobs.contains(&job).then_some(Accounted {
                job,
                index,
                state,
                exit_code,
                reason,
            })
        })
        .collect()
}

impl Slurm for SlurmCommands {
    fn sbatch(&self, args: &[String]) -> Result<u64, CommandError> {
        let mut all = vec!["--parsable".to_string()];
        all.extend_from_slice(args);
        let out = run("sbatch", &all)?;
        // --parsable prints `id` or `id;cluster`
        let id = out.trim().split(';').next().unwrap_or("");
        id.parse().map_err(|_| CommandError::Output {
            command: "sbatch --parsable".into(),
            output: out.clone(),
        })
    }

    fn squeue(&self, jobs: &[u64]) -> Result<Vec<QueuedElement>, CommandError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // Not `-j`: squeue fails on ids the controller has forgotten.
        // `--states=all`: the default list leaves out an element in the
        // middle of a requeue (REQUEUED), which is alive; terminal states
        // are dropped by `parse_squeue`.
        let args = ["-h", "-r", "--states=all", "-o", "%F|%K|%T"].map(String::from);
        Ok(parse_squeue(&run("squeue", &args)?, jobs))
    }

    fn scancel(&self, jobs: &[u64]) -> Result<(), CommandError> {
        if jobs.is_empty() {
            return Ok(());
        }
        run(
            "scancel",
            &jobs.iter().map(u64::to_string).collect::<Vec<_>>(),
        )?;
        Ok(())
    }

    fn sacct(&self, jobs: &[u64]) -> Result<Vec<Accounted>, CommandError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let ids = jobs.iter().map(u64::to_string).collect::<Vec<_>>();
        let mut args = ["-n", "-P", "-X", "-o", "JobID,State,ExitCode,Reason", "-j"]
            .map(String::from)
            .to_vec();
        args.push(ids.join(","));
        Ok(parse_sacct(&run("sacct", &args)?, jobs))
    }

    fn max_array_size(&self) -> Result<u32, CommandError> {
        let out = run("scontrol", &["show".into(), "config".into()])?;
        out.lines()
            .find_map(|l| {
                let (name, value) = l.split_once('=')?;
                (name.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| CommandError::Output {
                command: "scontrol show config".into(),
                output: "no MaxArraySize line".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_of_other_jobs_and_plain_jobs_are_dropped() {
        let text = "12|0|RUNNING\n12|3|PENDING\n13|N/A|RUNNING\n99|1|PENDING\n12|4|COMPLETED\n12|5|REQUEUED\n";
        let rows = parse_squeue(text, &[12, 13]);
        let indices: Vec<u32> = rows.iter().map(|r| r.index).collect();
        assert_eq!(
            indices,
            [0, 3, 5],
            "finished elements are dropped, requeued ones kept"
        );
    }

    #[test]
    fn sacct_lines_of_elements_are_read_ranges_and_other_jobs_dropped() {
        let text = "12_0|COMPLETED|0:0|None\n12_3|TIMEOUT|0:0|TimeLimit\n\
                    12_[4-9]|CANCELLED by 0|0:0|Dependency\n13_1|OUT_OF_MEMORY|0:125|None\n\
                    99_1|FAILED|1:0|None\n";
        let rows = parse_sacct(text, &[12, 13]);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1].to_string(),
            "Slurm accounting: state TIMEOUT, exit code 0:0, reason TimeLimit"
        );
        assert_eq!((rows[2].job, rows[2].index), (13, 1));
        assert!(parse_sacct("Slurm accounting storage is disabled\n", &[12]).is_empty());
    }

    #[test]
    fn busy_controller_is_transient_bad_option_is_not() {
        let failed = |stderr: &str| CommandError::Failed {
            command: "sbatch".into(),
            status: "1".into(),
            stderr: stderr.into(),
        };
        assert!(
            failed("sbatch: error: Batch job submission failed: Socket timed out").is_transient()
        );
        assert!(!failed("sbatch: error: invalid partition specified: gpu").is_transient());
    }
}
