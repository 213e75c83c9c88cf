//! First-layer filters of one trained model: one small panel per filter
//! length, each filter drawn as a curve of its weights over time (frames).
//!
//! Must not know burn: it draws plain [`FilterWeights`].

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{series_color, DrawResult, Plot, FAMILY};
use crate::report::FilterWeights;

/// Panel size in pixels.
const PANEL: (u32, u32) = (230, 170);
/// Room for the figure title in pixels.
const TITLE_ROOM: u32 = 40;

/// The filters figure.
pub(crate) struct FiltersPlot<'a> {
    weights: &'a FilterWeights,
}

impl<'a> FiltersPlot<'a> {
    /// A figure of `weights`' groups, in the order given.
    pub(crate) fn new(weights: &'a FilterWeights) -> Self {
        Self { weights }
    }

    /// Grid `(rows, columns)`: about 4:3 panels wide, at least one of each.
    fn grid(&self) -> (usize, usize) {
        let n = self.weights.groups.len().max(1);
        let cols = ((n as f64 * 1.4).sqrt().ceil() as usize).clamp(1, n);
        (n.div_ceil(cols), cols)
    }
}

/// Symmetric weight range of a group (so zero sits in the middle).
fn symmetric_range(filters: &[Vec<f32>]) -> f64 {
    let max = filters
        .iter()
        .flatten()
        .map(|w| f64::from(w.abs()))
        .filter(|w| w.is_finite())
        .fold(0.0, f64::max);
    if max > 0.0 {
        max * 1.1
    } else {
        1.0
    }
}

impl Plot for FiltersPlot<'_> {
    const STEM: &'static str = "filters";

    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (PANEL.0 * cols as u32, PANEL.1 * rows as u32 + TITLE_ROOM)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let w = self.weights;
        let title = format!(
            "First-layer filters of {} (hop {}, fold {}): weight vs frame, one panel per length",
            w.model, w.hop, w.fold
        );
        let area = area.titled(&title, (FAMILY, 16))?;
        let panels = area.split_evenly(self.grid());
        for (group, panel) in w.groups.iter().zip(&panels) {
            let len = group.length.max(2) as f64;
            let r = symmetric_range(&group.filters);
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("n = {} ({} filters)", group.length, group.filters.len()),
                    (FAMILY, 13),
                )
                .margin(6)
                .x_label_area_size(18)
                .y_label_area_size(38)
                .build_cartesian_2d(0.0..len - 1.0, -r..r)?;
            chart
                .configure_mesh()
                .x_labels(3)
                .y_labels(5)
                .y_label_formatter(&|y| format!("{y:.2}"))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FAMILY, 10))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            chart.draw_series(std::iter::once(PathElement::new(
                [(0.0, 0.0), (len - 1.0, 0.0)],
                BLACK.mix(0.3),
            )))?;
            for (i, filter) in group.filters.iter().enumerate() {
                let points = filter
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| (t as f64, f64::from(v)));
                chart.draw_series(LineSeries::new(points, series_color(i).stroke_width(1)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FilterGroupWeights;

    fn weights(groups: usize) -> FilterWeights {
        FilterWeights {
            model: "m".into(),
            hop: 80,
            fold: 0,
            groups: (0..groups)
                .map(|g| FilterGroupWeights {
                    length: 6 + 5 * g,
                    filters: vec![vec![0.5; 6 + 5 * g]],
                })
                .collect(),
        }
    }

    /// Every group gets a panel: rows × columns ≥ groups.
    #[test]
    fn grid_holds_every_group() {
        for n in [1, 2, 8, 35, 43] {
            let w = weights(n);
            let (rows, cols) = FiltersPlot::new(&w).grid();
            assert!(rows * cols >= n, "{n} groups in {rows}×{cols}");
            assert!(
                rows * cols < n + cols,
                "{n} groups: a whole empty row in {rows}×{cols}"
            );
        }
    }

    #[test]
    fn symmetric_range_covers_the_largest_weight() {
        assert_eq!(symmetric_range(&[]), 1.0);
        assert!((symmetric_range(&[vec![0.1, -2.0]]) - 2.2).abs() < 1e-6);
    }
}
