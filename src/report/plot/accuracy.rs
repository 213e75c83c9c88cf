//! Accuracy vs number of parameters (log x), one panel per hop: each model is
//! one colour, ours a filled dot with a mean ± std bar, the paper's a hollow
//! square; paper-only methods are dashed horizontal lines.
//!
//! Must not know how the table was computed: it draws a [`Table`].

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    draw_legend, padded_range, series_color, split_legend, DrawResult, Mark, Plot, FAMILY,
    LEGEND_WIDTH,
};
use crate::plan::params::PaperOnlyRow;
use crate::report::frame::Table;

/// Panel width in pixels.
const PANEL_WIDTH: u32 = 620;
/// Figure height in pixels.
const HEIGHT: u32 = 520;
/// Marker radius in pixels.
const MARKER: i32 = 5;

/// A log-axis tick label: `1k`, `2k`, `5k`, `10k`, … `1M` at 1, 2 and 5 × 10^k;
/// empty between them so the labels do not run into each other.
fn log_tick(x: &f64) -> String {
    if !x.is_finite() || *x <= 0.0 {
        return String::new();
    }
    let power = x.log10().floor();
    let mantissa = (x / 10f64.powf(power)).round() as u32;
    if ![1, 2, 5].contains(&mantissa) {
        return String::new();
    }
    match x.round() as u64 {
        n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The accuracy-vs-parameters figure.
pub(crate) struct AccuracyPlot<'a> {
    table: &'a Table,
    paper_only: &'a [PaperOnlyRow],
}

impl<'a> AccuracyPlot<'a> {
    /// A figure of `table`, with `paper_only` rows as reference lines.
    pub(crate) fn new(table: &'a Table, paper_only: &'a [PaperOnlyRow]) -> Self {
        Self { table, paper_only }
    }

    /// Accuracy range in percent covering every point, bar and line.
    fn y_range(&self) -> (f64, f64) {
        let mut values = Vec::new();
        for row in &self.table.rows {
            for cell in &row.cells {
                if let Some(mean) = cell.song_mean {
                    let std = cell.song_std.unwrap_or(0.0);
                    values.extend([mean - std, mean + std]);
                }
                values.extend(cell.paper);
            }
        }
        values.extend(self.paper_only.iter().map(|p| p.accuracy));
        let (lo, hi) = padded_range(
            values.into_iter().map(|v| 100.0 * v),
            0.08,
            5.0,
            (0.0, 100.0),
        );
        (lo.max(0.0), hi.min(100.0))
    }

    /// Parameter range (log axis) covering every model, ours and paper.
    fn x_range(&self) -> (f64, f64) {
        let counts = self
            .table
            .rows
            .iter()
            .flat_map(|r| [Some(r.params), r.paper_params])
            .flatten()
            .map(|p| p.max(1) as f64);
        let (lo, hi) = counts.fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        });
        if lo > hi {
            return (1.0, 10.0);
        }
        // Whole decades, with room for the markers at both ends.
        (
            10f64.powf((lo / 1.5).log10().floor()),
            10f64.powf((hi * 1.5).log10().ceil()),
        )
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        hop_index: usize,
    ) -> DrawResult<DB> {
        let hop = self.table.hops[hop_index];
        let (x0, x1) = self.x_range();
        let (y0, y1) = self.y_range();
        let mut chart = ChartBuilder::on(area)
            .caption(format!("hop {hop}"), (FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("#params (log scale)")
            .y_desc("song-level accuracy (%)")
            .x_labels(20)
            .x_label_formatter(&log_tick)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for reference in self.paper_only {
            let y = 100.0 * reference.accuracy;
            let style = ShapeStyle::from(&BLACK.mix(0.6)).stroke_width(1);
            chart.draw_series(DashedLineSeries::new([(x0, y), (x1, y)], 6, 4, style))?;
        }
        for (i, row) in self.table.rows.iter().enumerate() {
            let cell = &row.cells[hop_index];
            let color = series_color(i);
            let x = row.params.max(1) as f64;
            if let Some(paper) = cell.paper {
                let px = row.paper_params.unwrap_or(row.params).max(1) as f64;
                let corner = |d: i32| (d, d);
                chart.draw_series(std::iter::once(
                    EmptyElement::at((px, 100.0 * paper))
                        + Rectangle::new([corner(-MARKER), corner(MARKER)], color.stroke_width(2)),
                ))?;
            }
            if let (Some(mean), std) = (cell.song_mean, cell.song_std.unwrap_or(0.0)) {
                let (lo, hi) = (100.0 * (mean - std), 100.0 * (mean + std));
                chart.draw_series(std::iter::once(PathElement::new(
                    [(x, lo), (x, hi)],
                    color.stroke_width(2),
                )))?;
            }
            let ours = cell
                .song_mean
                .map(|m| Circle::new((x, 100.0 * m), MARKER, color.filled()));
            chart.draw_series(ours)?;
        }
        Ok(())
    }
}

impl Plot for AccuracyPlot<'_> {
    const STEM: &'static str = "accuracy_vs_params";

    fn size(&self) -> (u32, u32) {
        let panels = PANEL_WIDTH * self.table.hops.len().max(1) as u32;
        (panels + LEGEND_WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let quotes_paper = !self.paper_only.is_empty()
            || self
                .table
                .rows
                .iter()
                .any(|r| r.paper_params.is_some() || r.cells.iter().any(|c| c.paper.is_some()));
        let title = if quotes_paper {
            "Song-level accuracy vs #params: dots = ours (mean ± std over folds), squares = paper"
        } else {
            "Song-level accuracy vs #params (mean ± std over folds)"
        };
        let area = area.titled(title, (FAMILY, 18))?;
        let (plots, legend) = split_legend(&area);
        let panels = plots.split_evenly((1, self.table.hops.len().max(1)));
        for (i, panel) in panels.iter().enumerate().take(self.table.hops.len()) {
            self.draw_panel(panel, i)?;
        }
        let models = self.table.rows.iter().enumerate();
        let mut entries: Vec<_> = models
            .map(|(i, row)| (row.model.clone(), series_color(i), Mark::Dot))
            .collect();
        entries.extend(
            self.paper_only
                .iter()
                .map(|p| (format!("{} (paper only)", p.name), BLACK, Mark::Reference)),
        );
        draw_legend(&legend, &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::log_tick;

    #[test]
    fn log_ticks_label_one_two_five_only() {
        let labels: Vec<String> = [1e3, 2e3, 3e3, 5e3, 1e4, 5e5, 2e6, 7e6]
            .iter()
            .map(log_tick)
            .collect();
        assert_eq!(labels, ["1k", "2k", "", "5k", "10k", "500k", "2M", ""]);
    }
}
