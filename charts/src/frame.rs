//! What every chart has around its plot: a white canvas, the title, and a legend column on the
//! right.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{FAMILY, INK, printable};
use crate::{RenderError, drawing};

/// Width of the legend column, in pixels.
const LEGEND_WIDTH: u32 = 228;

/// A legend entry: a swatch of `colour`, lighter when `band`, and a name.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) colour: RGBColor,
    pub(crate) band: bool,
}

/// The canvas, titled; the plot area and the legend area.
pub(crate) fn frame<'a>(
    root: &DrawingArea<BitMapBackend<'a>, Shift>,
    title: &str,
) -> Result<
    (
        DrawingArea<BitMapBackend<'a>, Shift>,
        DrawingArea<BitMapBackend<'a>, Shift>,
    ),
    RenderError,
> {
    root.fill(&WHITE).map_err(drawing)?;
    let body = root
        .titled(&printable(title, 72), (FAMILY, 19).into_font().color(&INK))
        .map_err(drawing)?;
    let (width, _) = body.dim_in_pixel();
    Ok(body.split_horizontally(width.saturating_sub(LEGEND_WIDTH)))
}

/// Draws `entries` top to bottom in `area`.
pub(crate) fn legend(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    entries: &[Entry],
) -> Result<(), RenderError> {
    let text = (FAMILY, 12).into_font().color(&INK);
    for (i, entry) in entries.iter().enumerate() {
        let y = 24 + 22 * i32::try_from(i).unwrap_or(0);
        let fill = if entry.band {
            entry.colour.mix(0.25).filled()
        } else {
            entry.colour.filled()
        };
        area.draw(&Rectangle::new([(4, y), (18, y + 14)], fill))
            .map_err(drawing)?;
        area.draw(&Text::new(
            printable(&entry.name, 31),
            (24, y),
            text.clone(),
        ))
        .map_err(drawing)?;
    }
    Ok(())
}
