//! The aggregate task: every (model, hop, fold) test result of an experiment
//! in one `results.json`, in spec order (model, then hop, then fold). This is
//! the hand-off to the report module, which builds Table 1 from it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::exec::runner::JobContext;
use crate::plan::{Task, TaskKind};
use crate::train::TestMetrics;

use super::{params, write_json, Context, TaskError};

/// The output file of an aggregate entry.
pub const RESULTS_FILE: &str = "results.json";

/// The test-metrics file inside a train entry (written by the train module).
pub const TEST_METRICS_FILE: &str = "test.json";

/// One planned model of the experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Hops it runs at.
    pub hops: Vec<usize>,
    /// Trainable parameters.
    pub params: usize,
}

#[derive(Deserialize)]
struct AggregateParams {
    experiment: String,
    folds: usize,
    rows: Vec<Row>,
}

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Experiment name.
    pub experiment: String,
    /// Folds of the protocol.
    pub folds: usize,
    /// The planned models, in spec order.
    pub rows: Vec<Row>,
    /// Every run's test metrics, sorted by (model order, hop order, fold).
    pub runs: Vec<TestMetrics>,
}

/// Collects the upstream train tasks' test metrics into `out`.
pub fn compute(ctx: &Context, task: &Task, out: &Path, _: &JobContext) -> Result<(), TaskError> {
    let p: AggregateParams = params(task)?;
    let mut runs = Vec::with_capacity(task.deps.len());
    for dep in &task.deps {
        let Some((TaskKind::Train, key)) = ctx.keys.get(dep) else {
            return Err(TaskError::Format {
                task: task.id.0.clone(),
                what: format!("upstream {dep} is not a planned train task"),
            });
        };
        let metrics: TestMetrics = ctx.read_json(task, TaskKind::Train, key, TEST_METRICS_FILE)?;
        runs.push(metrics);
    }
    let order = |m: &TestMetrics| {
        let row = p.rows.iter().position(|r| r.model == m.model);
        let hop = row.and_then(|r| p.rows[r].hops.iter().position(|&h| h == m.hop));
        (row, hop, m.fold)
    };
    runs.sort_by_key(order);
    let results = Results {
        experiment: p.experiment,
        folds: p.folds,
        rows: p.rows,
        runs,
    };
    write_json(task, out, RESULTS_FILE, &results)
}
