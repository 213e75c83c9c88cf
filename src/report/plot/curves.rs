//! Training curves: per hop, loss (training solid, validation dashed) and
//! validation accuracy per epoch, each the mean over the folds that reached
//! that epoch (early stopping ends folds at different epochs; the number of
//! folds behind a point can therefore drop towards the end of a curve).
//!
//! Must not know how training works: it averages [`EpochRow`]s.

use std::collections::BTreeMap;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    draw_legend, padded_range, series_color, split_legend, DrawResult, Mark, Plot, FAMILY,
    LEGEND_WIDTH,
};
use crate::report::EpochRow;

/// Panel size in pixels.
const PANEL: (u32, u32) = (600, 380);

/// Mean metrics of one epoch over the folds that reached it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EpochMean {
    /// 1-based epoch.
    pub(crate) epoch: usize,
    /// Mean training loss.
    pub(crate) train_loss: f64,
    /// Mean validation loss.
    pub(crate) val_loss: f64,
    /// Mean validation accuracy (0..1).
    pub(crate) val_accuracy: f64,
}

/// One model's mean curve at one hop.
pub(crate) struct ModelCurve {
    /// Model name.
    pub(crate) model: String,
    /// Colour index (the model's spec position, so colours match across plots).
    pub(crate) color: usize,
    /// Mean per epoch, in epoch order.
    pub(crate) points: Vec<EpochMean>,
}

/// Averages the epoch rows of several folds per epoch, summing in the
/// order given (fold order) so the result does not depend on threads.
pub(crate) fn mean_over_folds<'a>(
    folds: impl IntoIterator<Item = &'a [EpochRow]>,
) -> Vec<EpochMean> {
    let mut sums: BTreeMap<usize, ([f64; 3], usize)> = BTreeMap::new();
    for fold in folds {
        for e in fold {
            let entry = sums.entry(e.epoch).or_insert(([0.0; 3], 0));
            entry.0[0] += e.train_loss;
            entry.0[1] += e.val_loss;
            entry.0[2] += e.val_accuracy;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(epoch, (s, n))| {
            let n = n as f64;
            EpochMean {
                epoch,
                train_loss: s[0] / n,
                val_loss: s[1] / n,
                val_accuracy: s[2] / n,
            }
        })
        .collect()
}

/// A chart of something per epoch on `area`: epochs 1..=`last_epoch` on x,
/// `y` on y, mesh drawn.
fn epoch_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    last_epoch: f64,
    y: (f64, f64),
) -> Result<EpochChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(1.0..last_epoch, y.0..y.1)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc(y_desc)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}

/// A chart with epochs on x and a float on y.
type EpochChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The training-curves figure: one row of two panels per hop.
pub(crate) struct CurvesPlot {
    hops: Vec<(usize, Vec<ModelCurve>)>,
}

impl CurvesPlot {
    /// A figure with one row per `(hop, curves)`.
    pub(crate) fn new(hops: Vec<(usize, Vec<ModelCurve>)>) -> Self {
        Self { hops }
    }

    fn draw_row<DB: DrawingBackend>(
        &self,
        panels: (&DrawingArea<DB, Shift>, &DrawingArea<DB, Shift>),
        hop: usize,
        curves: &[ModelCurve],
    ) -> DrawResult<DB> {
        let last_epoch = curves
            .iter()
            .flat_map(|c| c.points.last())
            .map(|p| p.epoch)
            .max()
            .unwrap_or(1)
            .max(2) as f64;
        let losses = curves
            .iter()
            .flat_map(|c| c.points.iter().flat_map(|p| [p.train_loss, p.val_loss]));
        let (l0, l1) = padded_range(losses, 0.05, 0.1, (0.0, 1.0));
        let loss_caption = format!("hop {hop}: loss (solid training, dashed validation)");
        let mut loss = epoch_chart(
            panels.0,
            &loss_caption,
            "cross-entropy",
            last_epoch,
            (l0.max(0.0), l1),
        )?;
        let acc_caption = format!("hop {hop}: validation accuracy");
        let mut acc = epoch_chart(
            panels.1,
            &acc_caption,
            "chunk accuracy (%)",
            last_epoch,
            (0.0, 100.0),
        )?;
        for curve in curves {
            let color = series_color(curve.color);
            let points = &curve.points;
            let at =
                move |f: fn(&EpochMean) -> f64| points.iter().map(move |p| (p.epoch as f64, f(p)));
            loss.draw_series(LineSeries::new(at(|p| p.train_loss), color.stroke_width(2)))?;
            loss.draw_series(DashedLineSeries::new(
                at(|p| p.val_loss),
                5,
                4,
                color.stroke_width(2),
            ))?;
            acc.draw_series(LineSeries::new(
                at(|p| 100.0 * p.val_accuracy),
                color.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

impl Plot for CurvesPlot {
    const STEM: &'static str = "training_curves";

    fn size(&self) -> (u32, u32) {
        let height = PANEL.1 * self.hops.len().max(1) as u32 + 40;
        (2 * PANEL.0 + LEGEND_WIDTH, height)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = area.titled("Training curves (mean over folds per epoch)", (FAMILY, 18))?;
        let (plots, legend) = split_legend(&area);
        let panels = plots.split_evenly((self.hops.len().max(1), 2));
        for ((hop, curves), pair) in self.hops.iter().zip(panels.chunks(2)) {
            if let [left, right] = pair {
                self.draw_row((left, right), *hop, curves)?;
            }
        }
        // One entry per model, in spec (colour) order, whatever hop it ran at.
        let mut models: Vec<(usize, &str)> = self
            .hops
            .iter()
            .flat_map(|(_, curves)| curves.iter().map(|c| (c.color, c.model.as_str())))
            .collect();
        models.sort_unstable();
        models.dedup();
        let entries: Vec<_> = models
            .into_iter()
            .map(|(color, model)| (model.to_owned(), series_color(color), Mark::Line))
            .collect();
        draw_legend(&legend, &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, loss: f64) -> EpochRow {
        EpochRow {
            epoch,
            train_loss: loss,
            train_accuracy: 0.0,
            val_loss: 2.0 * loss,
            val_accuracy: loss / 10.0,
            learning_rate: 0.01,
            seconds: 1.0,
        }
    }

    /// Epoch 3 is reached by one fold only: its mean is that fold's value.
    #[test]
    fn mean_over_folds_uses_the_folds_that_reached_each_epoch() {
        let a = [epoch(1, 1.0), epoch(2, 2.0), epoch(3, 5.0)];
        let b = [epoch(1, 3.0), epoch(2, 4.0)];
        let means = mean_over_folds([&a[..], &b[..]]);
        assert_eq!(means.len(), 3);
        assert_eq!((means[0].train_loss, means[0].val_loss), (2.0, 4.0));
        assert_eq!(means[1].train_loss, 3.0);
        assert_eq!((means[2].epoch, means[2].train_loss), (3, 5.0));
        assert!((means[2].val_accuracy - 0.5).abs() < 1e-12);
    }
}
