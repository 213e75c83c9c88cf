//! Song-level confusion matrix of one (model, hop), summed over its folds:
//! rows are true classes, columns predicted classes, each cell shaded by its
//! share of the row and labelled with its song count.
//!
//! Must not know which model is "best": the caller picks it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawResult, Plot, FAMILY};

/// Cell side in pixels.
const CELL: i32 = 58;
/// Room for the true-class names (left) and predicted-class names (bottom).
const LABEL_ROOM: i32 = 150;
/// Room for the title.
const TITLE_ROOM: i32 = 70;
/// Darkest shade (a full row in one cell).
const DARK: RGBColor = RGBColor(8, 48, 107);

/// The confusion-matrix figure.
pub(crate) struct ConfusionPlot {
    title: String,
    matrix: Vec<Vec<u64>>,
    class_names: Vec<String>,
}

impl ConfusionPlot {
    /// A figure of `matrix` (`[true][predicted]`, square). Class names
    /// default to indices when `class_names` does not have one per class.
    pub(crate) fn new(title: String, matrix: Vec<Vec<u64>>, class_names: &[String]) -> Self {
        let class_names = if class_names.len() == matrix.len() {
            class_names.to_vec()
        } else {
            (0..matrix.len()).map(|i| format!("class {i}")).collect()
        };
        Self {
            title,
            matrix,
            class_names,
        }
    }

    fn side(&self) -> i32 {
        CELL * self.matrix.len().max(1) as i32
    }

    /// The shaded cells with their counts.
    fn draw_cells<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (x0, y0) = (LABEL_ROOM, TITLE_ROOM);
        let centre = Pos::new(HPos::Center, VPos::Center);
        let count_style = |dark: bool| {
            TextStyle::from((FAMILY, 15).into_font())
                .pos(centre)
                .color(if dark { &WHITE } else { &BLACK })
        };
        for (r, row) in self.matrix.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (c, &count) in row.iter().enumerate() {
                let share = if total == 0 {
                    0.0
                } else {
                    count as f64 / total as f64
                };
                let (cx, cy) = (x0 + CELL * c as i32, y0 + CELL * r as i32);
                area.draw(&Rectangle::new(
                    [(cx, cy), (cx + CELL, cy + CELL)],
                    shade(share).filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(cx, cy), (cx + CELL, cy + CELL)],
                    BLACK.mix(0.2),
                ))?;
                let at = (cx + CELL / 2, cy + CELL / 2);
                area.draw(&Text::new(count.to_string(), at, count_style(share > 0.5)))?;
            }
        }
        Ok(())
    }
}

/// `WHITE` blended towards [`DARK`] by `share` (0..1).
fn shade(share: f64) -> RGBColor {
    let mix = |w: u8, d: u8| (f64::from(w) + (f64::from(d) - f64::from(w)) * share).round() as u8;
    RGBColor(mix(255, DARK.0), mix(255, DARK.1), mix(255, DARK.2))
}

impl Plot for ConfusionPlot {
    const STEM: &'static str = "confusion";

    fn size(&self) -> (u32, u32) {
        let side = (self.side() + LABEL_ROOM) as u32;
        ((side + 40).max(480), side + TITLE_ROOM as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let title =
            TextStyle::from((FAMILY, 17).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        let width = self.size().0 as i32;
        area.draw(&Text::new(self.title.clone(), (width / 2, 10), title))?;
        area.draw(&Text::new(
            "rows: true class, columns: predicted class; shade = share of the row",
            (width / 2, 36),
            TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        self.draw_cells(area)?;
        let (x0, y0) = (LABEL_ROOM, TITLE_ROOM);
        let label = TextStyle::from((FAMILY, 13).into_font());
        for (i, name) in self.class_names.iter().enumerate() {
            let mid = CELL * i as i32 + CELL / 2;
            let left = label.clone().pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(name.clone(), (x0 - 8, y0 + mid), left))?;
            let below = label
                .clone()
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(
                name.clone(),
                (x0 + mid, y0 + self.side() + 8),
                below,
            ))?;
        }
        let axis = TextStyle::from((FAMILY, 14).into_font());
        let bottom = (self.size().1 as i32) - 6;
        let below = axis.clone().pos(Pos::new(HPos::Center, VPos::Bottom));
        area.draw(&Text::new(
            "predicted class",
            (x0 + self.side() / 2, bottom),
            below,
        ))?;
        let above = axis.pos(Pos::new(HPos::Right, VPos::Bottom));
        area.draw(&Text::new("true class", (x0 - 8, y0 - 4), above))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shade_runs_from_white_to_dark() {
        assert_eq!(shade(0.0), WHITE);
        assert_eq!(shade(1.0), DARK);
    }

    #[test]
    fn class_names_fall_back_to_indices() {
        let plot = ConfusionPlot::new("t".into(), vec![vec![1, 0], vec![0, 1]], &[]);
        assert_eq!(plot.class_names, ["class 0", "class 1"]);
    }
}
