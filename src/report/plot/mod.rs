//! Plots of a report, each written as PNG and SVG with plotters:
//!
//! | file stem | what it shows |
//! |---|---|
//! | `accuracy_vs_params` | song-level accuracy vs #params (log x), one panel per hop, ours (mean ± std) and the paper's, one point per model |
//! | `confusion` | song-level confusion matrix of the best (model, hop), summed over folds |
//! | `training_curves` | per hop: train/validation loss and validation accuracy per epoch, mean over the folds that reached the epoch |
//! | `filters` | first-layer 1×n filters of one trained model, one panel per filter length, each filter a curve |
//!
//! **Fonts.** Text is rasterised with plotters' `ab_glyph` backend from a font
//! embedded in the binary (a Latin subset of DejaVu Sans, `fonts/`, Bitstream
//! Vera licence in `fonts/LICENSE-DejaVu.txt`), never from system fonts: the
//! report renders the same bytes on every machine, and CI cannot fail for
//! lack of a font or of fontconfig.
//!
//! Must not know polars or how the numbers were computed.

mod accuracy;
mod confusion;
mod curves;
mod filters;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

pub(crate) use accuracy::AccuracyPlot;
pub(crate) use confusion::ConfusionPlot;
pub(crate) use curves::{mean_over_folds, CurvesPlot, ModelCurve};
pub(crate) use filters::FiltersPlot;

use super::ReportError;

/// The embedded font (DejaVu Sans, Latin-1 subset plus `±—−Δ†…` and Greek).
static FONT: &[u8] = include_bytes!("fonts/DejaVuSans-subset.ttf");

/// Font family every plot uses (registered from [`FONT`]).
pub(crate) const FAMILY: &str = "sans-serif";

/// Drawing result with the backend's error type.
pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Registers the embedded font under the family names plotters asks for.
fn ensure_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| register_font(family, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Plot {
            plot: "font",
            message: "the embedded font does not parse (src/report/plot/fonts/)".into(),
        })
    }
}

/// A figure drawable on any plotters backend.
pub(crate) trait Plot {
    /// File stem (`<stem>.png`, `<stem>.svg`).
    const STEM: &'static str;
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `area` (already filled white).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Renders `plot` into `dir` as `<stem>.png` and `<stem>.svg`; returns the
/// two file names.
pub(crate) fn write_plot<P: Plot>(plot: &P, dir: &Path) -> Result<[String; 2], ReportError> {
    ensure_font()?;
    let err = |e: &dyn std::fmt::Display| ReportError::Plot {
        plot: P::STEM,
        message: e.to_string(),
    };
    let png = format!("{}.png", P::STEM);
    let svg = format!("{}.svg", P::STEM);
    {
        let path = dir.join(&png);
        let area = BitMapBackend::new(&path, plot.size()).into_drawing_area();
        area.fill(&WHITE).map_err(|e| err(&e))?;
        plot.draw(&area).map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
    }
    {
        let path = dir.join(&svg);
        let area = SVGBackend::new(&path, plot.size()).into_drawing_area();
        area.fill(&WHITE).map_err(|e| err(&e))?;
        plot.draw(&area).map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
    }
    Ok([png, svg])
}

/// The i-th colour of a fixed, colour-blind-friendly palette (Okabe–Ito,
/// then Tol's muted), cycling.
pub(crate) fn series_color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 12] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
        RGBColor(136, 34, 85),
        RGBColor(68, 170, 153),
        RGBColor(153, 153, 51),
        RGBColor(51, 34, 136),
        RGBColor(170, 68, 153),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Width of a legend column beside a figure's panels, in pixels.
pub(crate) const LEGEND_WIDTH: u32 = 250;
/// Legend line spacing in pixels.
const LEGEND_STEP: i32 = 22;

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A filled dot.
    Dot,
    /// A solid line.
    Line,
    /// A thin dashed grey line (paper-only references).
    Reference,
}

/// Draws a legend column on `area` (beside the panels, so it never hides
/// data): one line per `(label, colour, mark)`.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Mark)],
) -> DrawResult<DB> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let text = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let (x, mut y) = (14, 70);
    for (label, color, mark) in entries {
        match mark {
            Mark::Dot => area.draw(&Circle::new((x + 7, y), 5, color.filled()))?,
            Mark::Line => area.draw(&PathElement::new(
                [(x, y), (x + 14, y)],
                color.stroke_width(2),
            ))?,
            Mark::Reference => {
                let style = ShapeStyle::from(&BLACK.mix(0.6)).stroke_width(1);
                area.draw(&PathElement::new([(x, y), (x + 5, y)], style))?;
                area.draw(&PathElement::new([(x + 9, y), (x + 14, y)], style))?;
            }
        }
        area.draw(&Text::new(label.clone(), (x + 20, y), text.clone()))?;
        y += LEGEND_STEP;
    }
    Ok(())
}

/// Splits `area` into the panels' part and a legend column on the right.
pub(crate) fn split_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(LEGEND_WIDTH))
}

/// Lower and upper bounds of `values` with a margin of `pad` × span
/// (at least `min_span`), or `fallback` when there are no finite values.
pub(crate) fn padded_range(
    values: impl IntoIterator<Item = f64>,
    pad: f64,
    min_span: f64,
    fallback: (f64, f64),
) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return fallback;
    }
    let span = (hi - lo).max(min_span);
    let mid = (lo + hi) / 2.0;
    (mid - span * (0.5 + pad), mid + span * (0.5 + pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_range_widens_and_falls_back() {
        assert_eq!(padded_range([], 0.1, 1.0, (0.0, 1.0)), (0.0, 1.0));
        let (lo, hi) = padded_range([2.0, 4.0], 0.25, 0.1, (0.0, 1.0));
        assert!((lo - 1.5).abs() < 1e-12 && (hi - 4.5).abs() < 1e-12);
        let (lo, hi) = padded_range([3.0], 0.0, 2.0, (0.0, 1.0));
        assert!((lo - 2.0).abs() < 1e-12 && (hi - 4.0).abs() < 1e-12);
    }

    #[test]
    fn embedded_font_registers() {
        assert!(ensure_font().is_ok());
    }
}
