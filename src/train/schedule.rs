//! The stalled-loss learning-rate schedule of the reference implementation, as
//! a small state machine fed with one mean training loss per epoch.
//!
//! Protocol (`docs/reference-protocol.md` §Schedule): keep a reference loss `R`
//! (initially +∞) and a counter. After each epoch, if the epoch's loss is
//! greater than `R`, increment the counter and stop training once it exceeds
//! `stop_after` (40). Otherwise, if the counter exceeds `patience` (20),
//! multiply the learning rate by `factor` (0.5) and reset the counter; then set
//! `R` to this epoch's loss. Note that an improving epoch does *not* reset the
//! counter unless the counter already exceeded the patience: the reference
//! implementation behaves this way and so does this one.
//!
//! Must not know about models or tensors.

use serde::{Deserialize, Serialize};

use super::Schedule;

/// What the training loop does after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run another epoch (with [`ScheduleState::learning_rate`]).
    Continue,
    /// The loss stalled for more than `stop_after` epochs: stop training.
    Stop,
}

/// The schedule's state between epochs; serialisable so a resumed run continues
/// exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Reference loss `R`; `None` stands for +∞ (no epoch seen yet).
    pub reference_loss: Option<f64>,
    /// Epochs counted as stalled since the last reset.
    pub counter: usize,
    /// Learning rate for the next epoch.
    pub learning_rate: f64,
}

impl ScheduleState {
    /// The state before the first epoch: `R = +∞`, counter 0.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            reference_loss: None,
            counter: 0,
            learning_rate,
        }
    }

    /// Feeds the mean training loss of the epoch that just ended and updates
    /// the learning rate for the next epoch.
    pub fn observe(&mut self, schedule: &Schedule, loss: f64) -> Decision {
        let stalled = self.reference_loss.is_some_and(|r| loss > r);
        if stalled {
            self.counter += 1;
            if self.counter > schedule.stop_after {
                return Decision::Stop;
            }
        } else {
            if self.counter > schedule.patience {
                self.learning_rate *= schedule.factor;
                self.counter = 0;
            }
            self.reference_loss = Some(loss);
        }
        Decision::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Schedule {
        Schedule {
            patience: 2,
            stop_after: 4,
            factor: 0.5,
            val_patience: None,
        }
    }

    /// Runs `losses` through a fresh state; returns (decisions, learning rates after each epoch).
    fn run(schedule: &Schedule, losses: &[f64]) -> (Vec<Decision>, Vec<f64>) {
        let mut state = ScheduleState::new(1.0);
        losses
            .iter()
            .map(|&l| (state.observe(schedule, l), state.learning_rate))
            .unzip()
    }

    #[test]
    fn decreasing_loss_never_changes_the_rate() {
        let (d, lr) = run(&small(), &[5.0, 4.0, 3.0, 2.0, 1.0, 0.5]);
        assert!(d.iter().all(|&d| d == Decision::Continue));
        assert!(lr.iter().all(|&lr| lr == 1.0));
    }

    #[test]
    fn stalls_beyond_patience_then_an_improvement_halve_the_rate() {
        // Three stalled epochs (counter 3 > patience 2), then an improvement.
        let (d, lr) = run(&small(), &[1.0, 2.0, 2.0, 2.0, 0.9, 0.8]);
        assert!(d.iter().all(|&d| d == Decision::Continue));
        assert_eq!(lr, vec![1.0, 1.0, 1.0, 1.0, 0.5, 0.5]);
    }

    #[test]
    fn stalls_within_patience_do_not_reset_the_counter() {
        // Two stalls (counter 2, not > 2), improvement (counter stays 2), one
        // more stall (3), improvement: now 3 > 2, so the rate halves.
        let (_, lr) = run(&small(), &[1.0, 2.0, 2.0, 0.9, 1.0, 0.8]);
        assert_eq!(lr, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
    }

    #[test]
    fn stops_when_the_counter_exceeds_stop_after() {
        // Stalls 1..=4 continue, the fifth (5 > 4) stops.
        let (d, _) = run(&small(), &[1.0, 1.5, 1.5, 1.5, 1.5, 1.5]);
        assert_eq!(d[..5], [Decision::Continue; 5]);
        assert_eq!(d[5], Decision::Stop);
    }

    #[test]
    fn equal_loss_is_not_a_stall_and_moves_the_reference() {
        let mut state = ScheduleState::new(0.01);
        state.observe(&small(), 1.0);
        state.observe(&small(), 1.0);
        assert_eq!(state.counter, 0);
        assert_eq!(state.reference_loss, Some(1.0));
    }

    #[test]
    fn the_paper_defaults_halve_after_twenty_one_stalls() {
        let schedule = Schedule::default();
        let mut state = ScheduleState::new(0.01);
        state.observe(&schedule, 1.0);
        for _ in 0..21 {
            assert_eq!(state.observe(&schedule, 2.0), Decision::Continue);
        }
        state.observe(&schedule, 0.5);
        assert_eq!(state.learning_rate, 0.005);
        assert_eq!(state.counter, 0);
    }
}
