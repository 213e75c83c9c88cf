//! What a train entry holds for its readers, apart from the weights
//! (`super::weights`): the test metrics (`test.json`, [`TestMetrics`]) and the
//! per-epoch metrics CSV (`epochs.csv`, one [`EpochMetrics`] per row), with
//! the CSV's writer and parser.
//!
//! Plain serde types and text, no burn: the report task reads train entries
//! through this file without depending on the training loop.

use serde::{Deserialize, Serialize};

/// Metrics of one epoch (one row of the per-epoch CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training cross-entropy.
    pub train_loss: f64,
    /// Training chunk accuracy (0..1).
    pub train_accuracy: f64,
    /// Mean validation cross-entropy.
    pub val_loss: f64,
    /// Validation chunk accuracy (0..1).
    pub val_accuracy: f64,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of this epoch.
    pub seconds: f64,
}

/// One test song's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongPrediction {
    /// Track id.
    pub track: String,
    /// True class index.
    pub label: usize,
    /// Predicted class index (majority vote over chunks).
    pub predicted: usize,
    /// Chunk votes per class.
    pub votes: Vec<u32>,
}

/// Test metrics of one (model, hop, fold): the JSON every report is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestMetrics {
    /// Model name as in the spec.
    pub model: String,
    /// Chunk hop in frames.
    pub hop: usize,
    /// Fold index (0-based).
    pub fold: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Test chunk accuracy (0..1).
    pub chunk_accuracy: f64,
    /// Test song accuracy by majority vote (0..1).
    pub song_accuracy: f64,
    /// Epochs run.
    pub epochs_run: usize,
    /// Epoch (1-based) whose weights were kept (best validation accuracy).
    pub best_epoch: usize,
    /// Training wall-clock seconds.
    pub seconds: f64,
    /// Device it ran on, in words.
    pub device: String,
    /// Song-level confusion matrix, `[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    /// Per-song predictions.
    pub songs: Vec<SongPrediction>,
}

/// Header of the per-epoch metrics CSV.
pub const EPOCH_CSV_HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds";

/// The per-epoch metrics as CSV text (shortest round-trip float formatting).
pub fn epochs_csv(history: &[EpochMetrics]) -> String {
    let mut csv = format!("{EPOCH_CSV_HEADER}\n");
    for m in history {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            m.val_loss,
            m.val_accuracy,
            m.learning_rate,
            m.seconds
        ));
    }
    csv
}

/// Parses the per-epoch metrics CSV written by [`epochs_csv`]; an error names
/// the line (2 is the first row).
pub fn parse_epochs_csv(bytes: &[u8]) -> Result<Vec<EpochMetrics>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != EPOCH_CSV_HEADER {
        return Err(format!("unexpected header `{header}`"));
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| {
            let at = |e: String| format!("line {}: {e}", i + 2);
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != 7 {
                return Err(at(format!("{} cells, expected 7", cells.len())));
            }
            let f = |j: usize| cells[j].parse::<f64>().map_err(|e| at(e.to_string()));
            Ok(EpochMetrics {
                epoch: cells[0].parse().map_err(|e| at(format!("{e}")))?,
                train_loss: f(1)?,
                train_accuracy: f(2)?,
                val_loss: f(3)?,
                val_accuracy: f(4)?,
                learning_rate: f(5)?,
                seconds: f(6)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_row_per_epoch() {
        let m = EpochMetrics {
            epoch: 1,
            train_loss: 2.5,
            train_accuracy: 0.25,
            val_loss: 2.0,
            val_accuracy: 0.5,
            learning_rate: 0.01,
            seconds: 1.5,
        };
        let csv = epochs_csv(&[m]);
        assert_eq!(
            csv,
            format!("{EPOCH_CSV_HEADER}\n1,2.5,0.25,2,0.5,0.01,1.5\n")
        );
    }

    #[test]
    fn csv_round_trips() {
        let history = vec![EpochMetrics {
            epoch: 1,
            train_loss: 2.0794,
            train_accuracy: 0.125,
            val_loss: 2.07,
            val_accuracy: 0.2,
            learning_rate: 0.01,
            seconds: 1.5,
        }];
        let parsed = parse_epochs_csv(epochs_csv(&history).as_bytes()).unwrap();
        assert_eq!(parsed, history);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let bad = format!("{EPOCH_CSV_HEADER}\n1,2,3\n");
        let err = parse_epochs_csv(bad.as_bytes()).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_epochs_csv(b"epoch,loss\n").is_err());
    }
}
