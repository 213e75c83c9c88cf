//! Runs jobs in dependency order: boxed [`Work`] closures on `--jobs` CPU
//! worker threads or on the device queue (GPU jobs, up to
//! [`Runner::device_slots`] at once, each on its own thread), reporting to an
//! [`Observer`] (progress bars, the run log).
//!
//! The CPU workers are plain threads, not a rayon pool, on purpose: a job's
//! own data parallelism (rayon's global pool, e.g. the fused filter-bank
//! kernel) must never pick up *another job* while it waits for its parallel
//! section, as work stealing within one pool would. A job that holds a lock
//! across a parallel section (training holds the backend-RNG lock across a
//! forward pass) would otherwise run a second job on the same thread that
//! waits for the same lock: a deadlock (see `jobs_holding_a_lock_across_rayon_work_finish`).
//!
//! The runner never looks at what a job computes: a job is an id, a label, the
//! [`Resource`] it needs and a closure. A dry run is the same path with
//! [`Mode::DryRun`], which reports every job in order and calls no closure.
//!
//! Stopping is cooperative: whoever wants the run to stop (a signal handler,
//! a time-limit warning) sets a [`StopFlag`]. The runner then starts no new
//! job, and a running job that checks the flag ([`JobContext::stop_requested`];
//! training does at each epoch boundary, after its checkpoint) returns early.
//! The run returns normally with those jobs in [`Summary::stopped`]; no
//! thread exits the process.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Instant;

use super::queue::{DependencyQueue, QueueError};

/// An error returned by a job's closure.
pub type WorkError = Box<dyn std::error::Error + Send + Sync>;

/// What running a job's closure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The closure computed and published the job's outputs.
    Computed,
    /// The outputs already existed (published by another process meanwhile).
    Reused,
    /// Nothing was called ([`Mode::DryRun`]).
    DryRun,
}

/// A job's closure: everything needed to compute one artifact.
pub type Work = Box<dyn FnOnce(&JobContext) -> Result<Outcome, WorkError> + Send>;

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// On the CPU pool, alongside `--jobs - 1` others.
    Cpu,
    /// On the device queue, [`Runner::device_slots`] at a time.
    Gpu,
}

/// Identity of a job, as observers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// Unique id (tempora uses the task id, e.g. `train/O-net/hop250/fold0`).
    pub id: String,
    /// Human-readable name.
    pub label: String,
    /// Where it runs.
    pub resource: Resource,
}

/// One unit of work for the runner.
pub struct Job {
    /// Identity.
    pub info: JobInfo,
    /// What to do.
    pub work: Work,
}

/// A progress report from inside a running job (e.g. one per epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Steps done.
    pub done: u64,
    /// Steps in all (an upper bound when the job may stop early).
    pub total: u64,
    /// One short line, e.g. `loss 1.234 val 56.7%`.
    pub message: String,
}

/// Receives the runner's events. Called from worker threads. Every method
/// does nothing unless an observer overrides it.
pub trait Observer: Send + Sync {
    /// A run of `jobs` jobs is about to start.
    fn planned(&self, _jobs: usize) {}
    /// The device queue will run up to `slots` jobs at once, for `reason`
    /// (one line).
    fn device_queue(&self, _slots: usize, _reason: &str) {}
    /// A job's closure is about to be called.
    fn started(&self, _job: &JobInfo) {}
    /// A running job reported progress.
    fn update(&self, _job: &JobInfo, _update: &Update) {}
    /// A job ended (`Err` holds the error, rendered with its causes).
    fn finished(&self, _job: &JobInfo, _result: &Result<Outcome, String>, _seconds: f64) {}
    /// A job will not run because `failed` (one of its dependencies) failed.
    fn skipped(&self, _job: &JobInfo, _failed: &str) {}
    /// A job returned early because a stop was asked for: it did not finish,
    /// and resumes from its last checkpoint when run again.
    fn stopped(&self, _job: &JobInfo, _seconds: f64) {}
}

/// A request to stop a run, shared between whoever asks (a signal handler)
/// and the runner and jobs that honour it. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag nobody has set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop (no new job starts; running jobs that check
    /// return at their next safe point).
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for a signal handler to set
    /// (`signal_hook::flag::register`).
    pub fn shared(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// Forwards every event to several observers (progress display and run log).
pub struct Tee(pub Vec<Arc<dyn Observer>>);

impl Observer for Tee {
    fn planned(&self, jobs: usize) {
        self.0.iter().for_each(|o| o.planned(jobs));
    }
    fn device_queue(&self, slots: usize, reason: &str) {
        self.0.iter().for_each(|o| o.device_queue(slots, reason));
    }
    fn started(&self, job: &JobInfo) {
        self.0.iter().for_each(|o| o.started(job));
    }
    fn update(&self, job: &JobInfo, update: &Update) {
        self.0.iter().for_each(|o| o.update(job, update));
    }
    fn finished(&self, job: &JobInfo, result: &Result<Outcome, String>, seconds: f64) {
        self.0.iter().for_each(|o| o.finished(job, result, seconds));
    }
    fn skipped(&self, job: &JobInfo, failed: &str) {
        self.0.iter().for_each(|o| o.skipped(job, failed));
    }
    fn stopped(&self, job: &JobInfo, seconds: f64) {
        self.0.iter().for_each(|o| o.stopped(job, seconds));
    }
}

/// What a job's closure can use while it runs.
pub struct JobContext {
    info: JobInfo,
    observer: Arc<dyn Observer>,
    stop: StopFlag,
}

impl JobContext {
    /// The context of a job run outside a [`Runner`] (e.g. one task of a
    /// frozen plan in its own process), reporting to `observer` and
    /// honouring `stop`.
    pub fn new(info: JobInfo, observer: Arc<dyn Observer>, stop: StopFlag) -> Self {
        Self {
            info,
            observer,
            stop,
        }
    }

    /// Whether the run was asked to stop: a long job returns at its next safe
    /// point (training: after the epoch's checkpoint), so that it resumes
    /// from there.
    pub fn stop_requested(&self) -> bool {
        self.stop.is_requested()
    }

    /// The job being run.
    pub fn info(&self) -> &JobInfo {
        &self.info
    }

    /// Reports progress (shown on the job's progress line and logged).
    pub fn report(&self, update: Update) {
        self.observer.update(&self.info, &update);
    }
}

/// Run or only report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Call every closure.
    Run,
    /// Call none: report each job in dependency order as [`Outcome::DryRun`].
    DryRun,
}

/// Counts of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Jobs whose closure computed their outputs.
    pub computed: usize,
    /// Jobs whose outputs appeared meanwhile.
    pub reused: usize,
    /// Jobs reported by a dry run.
    pub dry_run: usize,
    /// Failed jobs: `(id, error)`.
    pub failed: Vec<(String, String)>,
    /// Jobs not run because a dependency failed.
    pub skipped: usize,
    /// Jobs that ended unfinished because a stop was asked for (their work
    /// resumes from its last checkpoint), by id.
    pub stopped: Vec<String>,
    /// Jobs never started because a stop was asked for.
    pub not_started: usize,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The job graph is inconsistent (a bug in the planner).
    #[error("invalid job graph: {0}")]
    Graph(#[from] QueueError),
    /// The CPU worker threads could not be started.
    #[error("cannot start {threads} worker threads: {source}")]
    Pool {
        /// Requested threads.
        threads: usize,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Runs a [`DependencyQueue`] of jobs.
#[derive(Debug, Clone)]
pub struct Runner {
    /// CPU worker threads (`--jobs`).
    pub jobs: usize,
    /// Device-queue threads: GPU jobs in flight at once (`--gpu-jobs`).
    pub device_slots: usize,
    /// Run or dry run.
    pub mode: Mode,
    /// Set to stop: no new job starts, running jobs return at their next
    /// safe point.
    pub stop: StopFlag,
}

/// How a job handed to a worker ended.
enum JobEnd {
    /// Its closure ran (or a dry run reported it).
    Ran(Result<Outcome, String>),
    /// A stop was asked for before a worker picked it up: never started.
    NotStarted,
}

/// A finished job, sent back to the scheduling loop: its id and end.
type Done = (String, JobEnd);

/// A pool of worker threads: the channel that feeds them, and their handles.
type Workers = (
    mpsc::Sender<(String, Job)>,
    Vec<std::thread::JoinHandle<()>>,
);

/// Runs `job` unless a stop was asked for while it waited for a worker.
fn start(job: Job, mode: Mode, observer: &Arc<dyn Observer>, stop: &StopFlag) -> JobEnd {
    if stop.is_requested() {
        return JobEnd::NotStarted;
    }
    JobEnd::Ran(execute(job, mode, observer, stop))
}

fn render(err: &WorkError) -> String {
    let mut causes = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    join_causes(causes)
}

/// An error and its causes on one line, `: `-separated, leaving out a cause
/// whose text the line already holds (an error that quotes its I/O error
/// would otherwise print it twice).
pub fn join_causes(causes: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for cause in causes {
        if line.contains(cause.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}

fn execute(
    job: Job,
    mode: Mode,
    observer: &Arc<dyn Observer>,
    stop: &StopFlag,
) -> Result<Outcome, String> {
    let clock = Instant::now();
    observer.started(&job.info);
    let ctx = JobContext::new(job.info.clone(), observer.clone(), stop.clone());
    let result = match mode {
        Mode::DryRun => Ok(Outcome::DryRun),
        Mode::Run => match catch_unwind(AssertUnwindSafe(|| (job.work)(&ctx))) {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(render(&e)),
            Err(panic) => Err(panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .map_or_else(|| "panicked".to_string(), |m| format!("panicked: {m}"))),
        },
    };
    report_end(
        observer.as_ref(),
        &job.info,
        &result,
        clock.elapsed().as_secs_f64(),
        stop,
    );
    result
}

/// Tells `observer` how a job ended: finished, or stopped early on a stop
/// request (an error then is the job returning early, not a failure).
pub fn report_end(
    observer: &dyn Observer,
    info: &JobInfo,
    result: &Result<Outcome, String>,
    seconds: f64,
    stop: &StopFlag,
) {
    if result.is_err() && stop.is_requested() {
        observer.stopped(info, seconds);
    } else {
        observer.finished(info, result, seconds);
    }
}

impl Runner {
    /// Runs every job once its dependencies have succeeded; a failed job's
    /// dependents are skipped, independent jobs go on.
    pub fn run(
        &self,
        mut queue: DependencyQueue<String, Job>,
        observer: Arc<dyn Observer>,
    ) -> Result<Summary, RunnerError> {
        queue.validate()?;
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let workers = |name: &str, count: usize| self.workers(name, count, &done_tx, &observer);
        let (cpu_tx, cpu_threads) = workers("cpu", self.jobs.max(1))?;
        let (gpu_tx, gpu_threads) = workers("gpu", self.device_slots.max(1))?;
        let mut summary = Summary::default();
        let mut in_flight = 0usize;
        loop {
            while let Some((id, job)) = self.next_job(&mut queue) {
                in_flight += 1;
                match job.info.resource {
                    Resource::Gpu => {
                        // The device threads only stop when this sender is
                        // dropped, so the send cannot fail here.
                        let _ = gpu_tx.send((id, job));
                    }
                    Resource::Cpu => {
                        // The workers only stop when this sender is dropped.
                        let _ = cpu_tx.send((id, job));
                    }
                }
            }
            if in_flight == 0 {
                break;
            }
            let Ok((id, end)) = done_rx.recv() else {
                break;
            };
            in_flight -= 1;
            let result = match end {
                JobEnd::Ran(result) => result,
                JobEnd::NotStarted => {
                    summary.not_started += 1;
                    continue;
                }
            };
            match result {
                Ok(Outcome::Computed) => summary.computed += 1,
                Ok(Outcome::Reused) => summary.reused += 1,
                Ok(Outcome::DryRun) => summary.dry_run += 1,
                // Ended early on the stop request: unfinished, not failed.
                Err(_) if self.stop.is_requested() => {
                    summary.stopped.push(id);
                    continue;
                }
                Err(e) => {
                    for (_, skipped) in queue.fail(&id) {
                        observer.skipped(&skipped.info, &id);
                        summary.skipped += 1;
                    }
                    summary.failed.push((id, e));
                    continue;
                }
            }
            queue.finish(&id);
        }
        if self.stop.is_requested() {
            summary.not_started += queue.len();
        }
        drop(gpu_tx);
        drop(cpu_tx);
        // The threads end once their channels are closed; a panic there
        // was already caught per job.
        for worker in cpu_threads.into_iter().chain(gpu_threads) {
            let _ = worker.join();
        }
        Ok(summary)
    }

    /// Starts `count` worker threads named `tempora-{name}-{i}` that take
    /// jobs from one channel (returned) and report each end on `done_tx`.
    fn workers(
        &self,
        name: &str,
        count: usize,
        done_tx: &mpsc::Sender<Done>,
        observer: &Arc<dyn Observer>,
    ) -> Result<Workers, RunnerError> {
        let (tx, rx) = mpsc::channel::<(String, Job)>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(count);
        for i in 0..count {
            let (done_tx, observer, rx) = (done_tx.clone(), observer.clone(), rx.clone());
            let (stop, mode) = (self.stop.clone(), self.mode);
            let worker = std::thread::Builder::new()
                .name(format!("tempora-{name}-{i}"))
                .spawn(move || loop {
                    // The receiver lock is held only while waiting for the next job.
                    let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok((id, job)) = next else { break };
                    let end = start(job, mode, &observer, &stop);
                    if done_tx.send((id, end)).is_err() {
                        break;
                    }
                })
                .map_err(|source| RunnerError::Pool {
                    threads: count,
                    source,
                })?;
            threads.push(worker);
        }
        Ok((tx, threads))
    }
}

impl Runner {
    /// The next ready job, unless a stop was asked for.
    fn next_job(&self, queue: &mut DependencyQueue<String, Job>) -> Option<(String, Job)> {
        if self.stop.is_requested() {
            return None;
        }
        queue.dequeue()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let causes = [
            "cache write /c/x: No space left on device (os error 28); free space".to_owned(),
            "No space left on device (os error 28)".to_owned(),
            "deeper".to_owned(),
        ];
        assert_eq!(
            join_causes(causes),
            "cache write /c/x: No space left on device (os error 28); free space: deeper"
        );
    }

    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl Observer for Record {
        fn started(&self, job: &JobInfo) {
            self.0.lock().unwrap().push(format!("start {}", job.id));
        }
        fn update(&self, job: &JobInfo, u: &Update) {
            self.0
                .lock()
                .unwrap()
                .push(format!("update {} {}/{}", job.id, u.done, u.total));
        }
        fn finished(&self, job: &JobInfo, r: &Result<Outcome, String>, _: f64) {
            self.0
                .lock()
                .unwrap()
                .push(format!("end {} {:?}", job.id, r));
        }
        fn skipped(&self, job: &JobInfo, failed: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("skip {} after {failed}", job.id));
        }
    }

    fn job(id: &str, resource: Resource, log: Arc<Mutex<Vec<String>>>, fail: bool) -> Job {
        let name = id.to_string();
        Job {
            info: JobInfo {
                id: id.into(),
                label: id.into(),
                resource,
            },
            work: Box::new(move |ctx| {
                ctx.report(Update {
                    done: 1,
                    total: 1,
                    message: String::new(),
                });
                log.lock().unwrap().push(name);
                if fail {
                    Err("boom".into())
                } else {
                    Ok(Outcome::Computed)
                }
            }),
        }
    }

    /// features → (train on GPU) → report; a second branch fails and only
    /// its dependent is skipped.
    fn graph(log: &Arc<Mutex<Vec<String>>>) -> DependencyQueue<String, Job> {
        let mut q = DependencyQueue::new();
        let add = |q: &mut DependencyQueue<String, Job>, id: &str, r, fail, deps: &[&str]| {
            q.insert(
                id.to_string(),
                job(id, r, log.clone(), fail),
                deps.iter().map(|d| d.to_string()),
            )
            .unwrap();
        };
        add(&mut q, "a-features", Resource::Cpu, false, &[]);
        add(&mut q, "b-train", Resource::Gpu, false, &["a-features"]);
        add(&mut q, "c-report", Resource::Cpu, false, &["b-train"]);
        add(&mut q, "d-broken", Resource::Cpu, true, &[]);
        add(
            &mut q,
            "e-after-broken",
            Resource::Cpu,
            false,
            &["d-broken"],
        );
        q
    }

    #[test]
    fn jobs_run_after_their_dependencies_and_failures_skip_dependents() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::new(Record::default());
        let runner = Runner {
            jobs: 2,
            device_slots: 1,
            mode: Mode::Run,
            stop: StopFlag::new(),
        };
        let summary = runner.run(graph(&log), record.clone()).unwrap();
        assert_eq!(summary.computed, 3);
        assert_eq!(summary.skipped, 1);
        assert_eq!(
            summary.failed,
            vec![("d-broken".to_string(), "boom".to_string())]
        );
        let ran = log.lock().unwrap().clone();
        let pos = |id: &str| ran.iter().position(|r| r == id).unwrap();
        assert!(pos("a-features") < pos("b-train") && pos("b-train") < pos("c-report"));
        assert!(!ran.contains(&"e-after-broken".to_string()));
        let events = record.0.lock().unwrap().clone();
        assert!(events.contains(&"skip e-after-broken after d-broken".to_string()));
        assert!(events.contains(&"update b-train 1/1".to_string()));
    }

    #[test]
    fn a_stop_request_starts_no_further_job_and_lists_the_one_that_stopped() {
        let stop = StopFlag::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut q = DependencyQueue::new();
        let info = |id: &str| JobInfo {
            id: id.into(),
            label: id.into(),
            resource: Resource::Cpu,
        };
        let flag = stop.clone();
        // "a" is asked to stop while it runs and returns early, as training does.
        let a: Work = Box::new(move |ctx| {
            flag.request();
            assert!(ctx.stop_requested());
            Err("stopped after the epoch checkpoint".into())
        });
        q.insert(
            "a".to_string(),
            Job {
                info: info("a"),
                work: a,
            },
            [],
        )
        .unwrap();
        for (id, deps) in [("b", vec!["a".to_string()]), ("c", vec![])] {
            let log = log.clone();
            let work: Work = Box::new(move |_| {
                log.lock().unwrap().push(id);
                Ok(Outcome::Computed)
            });
            q.insert(
                id.to_string(),
                Job {
                    info: info(id),
                    work,
                },
                deps,
            )
            .unwrap();
        }
        let runner = Runner {
            jobs: 1,
            device_slots: 1,
            mode: Mode::Run,
            stop,
        };
        let summary = runner.run(q, Arc::new(Record::default())).unwrap();
        assert_eq!(summary.stopped, vec!["a".to_string()]);
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        assert_eq!(
            summary.not_started, 2,
            "b waits for a, c was queued behind it"
        );
        assert!(
            log.lock().unwrap().is_empty(),
            "no job started after the stop"
        );
    }

    #[test]
    fn a_dry_run_reports_every_job_and_calls_no_closure() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let runner = Runner {
            jobs: 1,
            device_slots: 1,
            mode: Mode::DryRun,
            stop: StopFlag::new(),
        };
        let summary = runner
            .run(graph(&log), Arc::new(Record::default()))
            .unwrap();
        assert_eq!(summary.dry_run, 5);
        assert!(log.lock().unwrap().is_empty());
    }

    #[test]
    fn a_panicking_job_is_a_failure_not_a_crash() {
        let mut q = DependencyQueue::new();
        let work: Work = Box::new(|_| panic!("kaput"));
        let info = JobInfo {
            id: "p".into(),
            label: "p".into(),
            resource: Resource::Cpu,
        };
        q.insert("p".to_string(), Job { info, work }, []).unwrap();
        let runner = Runner {
            jobs: 1,
            device_slots: 1,
            mode: Mode::Run,
            stop: StopFlag::new(),
        };
        let summary = runner.run(q, Arc::new(Record::default())).unwrap();
        assert_eq!(
            summary.failed,
            vec![("p".to_string(), "panicked: kaput".to_string())]
        );
    }

    /// A queue of independent jobs `{prefix}0..{prefix}n` on `resource`, each
    /// running the closure `make(i)` returns.
    fn independent_jobs(
        prefix: &str,
        n: usize,
        resource: Resource,
        make: impl Fn(usize) -> Work,
    ) -> DependencyQueue<String, Job> {
        let mut queue = DependencyQueue::new();
        for i in 0..n {
            let id = format!("{prefix}{i}");
            let info = JobInfo {
                id: id.clone(),
                label: id.clone(),
                resource,
            };
            let job = Job {
                info,
                work: make(i),
            };
            queue.insert(id, job, Vec::<String>::new()).unwrap();
        }
        queue
    }

    /// Runs `queue` on `runner` in a thread; the number of jobs computed, or
    /// a panic saying `stuck` when it has not ended after `seconds`.
    fn run_within(
        runner: Runner,
        queue: DependencyQueue<String, Job>,
        seconds: u64,
        stuck: &str,
    ) -> usize {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let summary = runner.run(queue, Arc::new(Record::default()));
            let _ = tx.send(summary.map(|s| s.computed));
        });
        rx.recv_timeout(std::time::Duration::from_secs(seconds))
            .expect(stuck)
            .unwrap()
    }

    /// Two device slots run two GPU jobs at once (each waits for the other
    /// at a barrier: one slot would never finish), and never more.
    #[test]
    fn device_slots_run_that_many_gpu_jobs_at_once() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Barrier;
        let barrier = Arc::new(Barrier::new(2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let queue = independent_jobs("train", 4, Resource::Gpu, |_| {
            let (barrier, running, most) = (barrier.clone(), running.clone(), most.clone());
            Box::new(move |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                barrier.wait();
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(Outcome::Computed)
            })
        });
        let runner = Runner {
            jobs: 1,
            device_slots: 2,
            mode: Mode::Run,
            stop: StopFlag::new(),
        };
        let stuck = "two device slots did not run two jobs at once";
        assert_eq!(run_within(runner, queue, 60, stuck), 4);
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    /// Jobs that hold one lock across a rayon parallel section (as training
    /// does) finish: a job waiting for its parallel section never runs
    /// another job on its thread. On a rayon pool of workers this deadlocked.
    #[test]
    fn jobs_holding_a_lock_across_rayon_work_finish() {
        use rayon::prelude::*;
        static LOCK: Mutex<()> = Mutex::new(());
        let queue = independent_jobs("job", 6, Resource::Cpu, |_| {
            Box::new(|_| {
                for _ in 0..20 {
                    let _guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
                    let sum: u64 = (0..20_000u64).into_par_iter().map(|x| x % 7).sum();
                    assert!(sum > 0);
                }
                Ok(Outcome::Computed)
            })
        });
        let runner = Runner {
            jobs: 2,
            device_slots: 1,
            mode: Mode::Run,
            stop: StopFlag::new(),
        };
        assert_eq!(run_within(runner, queue, 120, "the runner deadlocked"), 6);
    }
}
