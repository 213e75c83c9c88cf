//! Watching a submitted run. The cache is the truth: a published entry means
//! done. Slurm is asked one thing per poll interval, with one `squeue` call
//! for the whole run: which elements are still queued or running. Event
//! files feed the observers (progress bars, run log). When no element is
//! left, every task is settled: published (done), finished with an error
//! (failed, naming its element's output file), started but never finished
//! (its element died: time limit, memory, node), or never started (a
//! dependency failed, so Slurm cancelled it). Where the cluster keeps
//! accounting, one `sacct` call adds to each failure what Slurm recorded about
//! its element (state, exit code, reason); without accounting nothing is added.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::exec::runner::{JobInfo, Observer, Outcome, Resource, StopFlag, Summary, Update};
use crate::exec::store::{Check, Probe, Store};
use crate::plan::{FrozenPlan, TaskId, TaskKind};

use super::commands::Slurm;
use super::compile::Compiled;
use super::rundir::{Event, EventReader, RunDir, Submission};
use super::SlurmError;

/// How watching ended.
#[derive(Debug)]
pub enum WatchEnd {
    /// No element is left; every task is settled.
    Finished(Summary),
    /// The user interrupted (Ctrl-C); the jobs go on.
    Detached,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Waiting,
    Started,
    Done,
    Failed,
}

struct Tracked {
    info: JobInfo,
    kind: TaskKind,
    key: String,
    deps: Vec<TaskId>,
    reader: EventReader,
    state: State,
}

/// Watches the run until no element is left or `interrupt` is set.
pub struct Watcher<'a> {
    /// Slurm.
    pub slurm: &'a dyn Slurm,
    /// The cache.
    pub store: &'a Store,
    /// The run.
    pub run: &'a RunDir,
    /// Seconds between polls.
    pub poll: f64,
    /// Set by Ctrl-C.
    pub interrupt: StopFlag,
}

impl Watcher<'_> {
    /// Watches, feeding `observer`.
    pub fn watch(&self, observer: &dyn Observer) -> Result<WatchEnd, SlurmError> {
        let frozen = FrozenPlan::load(&self.run.plan())?;
        let compiled = self.run.arrays()?;
        let submission = self.run.submission()?;
        let submitted: BTreeSet<&TaskId> = compiled.task_ids().collect();
        let mut tasks: BTreeMap<TaskId, Tracked> = frozen
            .tasks
            .iter()
            .filter(|t| submitted.contains(&t.id))
            .map(|t| {
                let kind = t.params.kind();
                let resource = if kind == TaskKind::Train {
                    Resource::Gpu
                } else {
                    Resource::Cpu
                };
                let info = JobInfo {
                    id: t.id.0.clone(),
                    label: t.id.0.clone(),
                    resource,
                };
                let deps = t.deps.iter().map(|d| d.id.clone()).collect();
                let tracked = Tracked {
                    info,
                    kind,
                    key: t.key.hex(),
                    deps,
                    reader: EventReader::default(),
                    state: State::Waiting,
                };
                (t.id.clone(), tracked)
            })
            .collect();
        let mut summary = Summary::default();
        loop {
            self.settle_from_events(&mut tasks, &mut summary, observer);
            let queued = self.slurm.squeue(&submission.jobs)?;
            if queued.is_empty() {
                // A requeued element (time-limit warning, node failure) leaves
                // `squeue`'s list for a moment while Slurm requeues it: the
                // queue must be empty twice, a moment apart, to mean done.
                std::thread::sleep(Duration::from_secs_f64(self.poll.clamp(1.0, 3.0)));
                if !self.slurm.squeue(&submission.jobs)?.is_empty() {
                    continue;
                }
                // One more look: an element may have ended between the two reads.
                self.settle_from_events(&mut tasks, &mut summary, observer);
                self.settle_the_rest(&mut tasks, &mut summary, observer, &compiled, &submission);
                return Ok(WatchEnd::Finished(summary));
            }
            if self.sleep() {
                return Ok(WatchEnd::Detached);
            }
        }
    }

    /// Sleeps one interval; true when interrupted.
    fn sleep(&self) -> bool {
        let end = Instant::now() + Duration::from_secs_f64(self.poll);
        while Instant::now() < end {
            if self.interrupt.is_requested() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.interrupt.is_requested()
    }

    fn settle_from_events(
        &self,
        tasks: &mut BTreeMap<TaskId, Tracked>,
        summary: &mut Summary,
        observer: &dyn Observer,
    ) {
        for (id, t) in tasks.iter_mut() {
            if matches!(t.state, State::Done | State::Failed) {
                continue;
            }
            for event in t.reader.read_new(&self.run.events(&id.0)) {
                match event {
                    Event::Started => {
                        if t.state == State::Waiting {
                            observer.started(&t.info);
                        }
                        t.state = State::Started;
                    }
                    Event::Progress {
                        done,
                        total,
                        message,
                    } => {
                        observer.update(
                            &t.info,
                            &Update {
                                done,
                                total,
                                message,
                            },
                        );
                    }
                    Event::Finished {
                        outcome,
                        error,
                        seconds,
                    } => {
                        let result = match (outcome.as_deref(), error) {
                            (_, Some(e)) => Err(e),
                            (Some("reused"), None) => Ok(Outcome::Reused),
                            _ => Ok(Outcome::Computed),
                        };
                        match &result {
                            Ok(Outcome::Reused) => summary.reused += 1,
                            Ok(_) => summary.computed += 1,
                            Err(e) => summary.failed.push((id.0.clone(), e.clone())),
                        }
                        t.state = if result.is_ok() {
                            State::Done
                        } else {
                            State::Failed
                        };
                        observer.finished(&t.info, &result, seconds);
                    }
                }
            }
            // Published without an event we saw (e.g. by another run): done.
            if t.state != State::Done && t.state != State::Failed && self.published(t) {
                t.state = State::Done;
                summary.reused += 1;
                observer.finished(&t.info, &Ok(Outcome::Reused), 0.0);
            }
        }
    }

    fn published(&self, t: &Tracked) -> bool {
        matches!(
            self.store.probe(t.kind.name(), &t.key, Check::Sizes),
            Ok(Probe::Present(_))
        )
    }

    fn settle_the_rest(
        &self,
        tasks: &mut BTreeMap<TaskId, Tracked>,
        summary: &mut Summary,
        observer: &dyn Observer,
        compiled: &Compiled,
        submission: &Submission,
    ) {
        let mut failed: BTreeSet<TaskId> = tasks
            .iter()
            .filter(|(_, t)| t.state == State::Failed)
            .map(|(id, _)| id.clone())
            .collect();
        // Tasks in submission order: dependencies are settled before dependents.
        for id in compiled.task_ids() {
            let Some(t) = tasks.get_mut(id) else { continue };
            let log = compiled.element_of(id).map(|e| {
                let name = &compiled.arrays[e.array].name;
                let job = submission.jobs.get(e.array).copied().unwrap_or(0);
                format!(
                    "job {job}_{}, output {}",
                    e.index,
                    self.run.log(name, e.index).display()
                )
            });
            match t.state {
                State::Done => {}
                State::Failed => {
                    if let Some((_, e)) = summary.failed.iter_mut().find(|p| p.0 == id.0) {
                        e.push_str(&format!(" ({})", log.unwrap_or_default()));
                    }
                }
                State::Started | State::Waiting => {
                    let log = log.unwrap_or_default();
                    let cause = t.deps.iter().find(|d| failed.contains(d));
                    if let (State::Waiting, Some(dep)) = (&t.state, cause) {
                        observer.skipped(&t.info, &dep.0);
                        summary.skipped += 1;
                    } else {
                        let e = if t.state == State::Started {
                            format!("its Slurm element ended before the task did (time limit, memory, node failure or scancel; {log})")
                        } else {
                            format!("its Slurm element ended without starting it (cancelled, or the worker could not start; {log})")
                        };
                        observer.finished(&t.info, &Err(e.clone()), 0.0);
                        summary.failed.push((id.0.clone(), e));
                    }
                    failed.insert(id.clone());
                }
            }
        }
        self.explain(summary, compiled, submission);
    }

    /// Adds what accounting recorded about each failed task's element, unless
    /// it completed (one `sacct` call; nothing when accounting is absent).
    fn explain(&self, summary: &mut Summary, compiled: &Compiled, submission: &Submission) {
        if summary.failed.is_empty() {
            return;
        }
        let Ok(rows) = self.slurm.sacct(&submission.jobs) else {
            return;
        };
        for (id, error) in &mut summary.failed {
            let Some(at) = compiled.element_of(&TaskId(id.clone())) else {
                continue;
            };
            let job = submission.jobs.get(at.array).copied();
            let row = rows
                .iter()
                .find(|r| Some(r.job) == job && r.index == at.index && r.state != "COMPLETED");
            if let Some(row) = row {
                error.push_str(&format!("; {row}"));
            }
        }
    }
}
