//! Charts of the cost tools' answers as PNG images: a [`Chart`] (what to draw, in plain numbers
//! and labels, with no knowledge of Cost Explorer) rendered in-process by plotters' bitmap
//! backend with an embedded font ([`style`]) and encoded by `png`. Nothing here reads the
//! network, the file system or system fonts.
//!
//! Two kinds: a [`TimeChart`] (one value per period: stacked bars of groups, or lines, with an
//! optional prediction-interval band) and a [`BarChart`] (horizontal bars per category, e.g.
//! month-over-month changes). At most [`MAX_SERIES`] series and [`MAX_CATEGORIES`] categories
//! are drawn; additive series and categories beyond them are folded into "Other" ([`fold`]).

mod bars;
mod encode;
pub mod fold;
mod frame;
pub mod samples;
pub mod style;
mod time;

use serde::{Deserialize, Serialize};

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 800;
/// Height of every chart, in pixels.
pub const HEIGHT: u32 = 450;
/// The most series a chart shows (the last one "Other" when there were more).
pub const MAX_SERIES: usize = 8;
/// The most categories a bar chart shows (the last one "Other" when there were more).
pub const MAX_CATEGORIES: usize = 10;

/// What a chart's values are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Unit {
    /// An amount of money in the ISO 4217 `code` (Cost Explorer's costs are USD).
    Currency {
        /// E.g. `USD`.
        code: String,
    },
    /// A percentage, 0 to 100 (utilization, coverage); the axis runs from 0 to at least 100.
    Percent,
    /// A usage quantity in `name` units, e.g. `Hrs` or `GB`.
    Quantity {
        /// The unit's name as Cost Explorer gives it.
        name: String,
    },
}

/// One named run of values, one per period (time charts) or per category (bar charts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// One value per period or category; missing values are 0.
    pub values: Vec<f64>,
}

/// A prediction interval: a shaded band from `lower` to `upper`, one pair per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Shown in the legend, e.g. "80% prediction interval".
    pub name: String,
    /// Lower bounds, one per period.
    pub lower: Vec<f64>,
    /// Upper bounds, one per period.
    pub upper: Vec<f64>,
}

/// How a time chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeStyle {
    /// Each period's series stacked into one bar (additive groups; folded into "Other").
    StackedBars,
    /// One line per series with a marker per period (not additive: never folded).
    Lines,
}

/// Values over consecutive periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeChart {
    /// Above the chart.
    pub title: String,
    /// The values' unit (the vertical axis).
    pub unit: Unit,
    /// What a period is, for the horizontal axis: e.g. "Month (UTC)".
    pub period_name: String,
    /// One label per period, e.g. `2027-01` or `2027-01-05`.
    pub periods: Vec<String>,
    /// Bars or lines.
    pub style: TimeStyle,
    /// The series, largest first for stacked bars.
    pub series: Vec<Series>,
    /// A prediction interval drawn behind the series.
    #[serde(default)]
    pub band: Option<Band>,
}

/// Values per category, drawn as horizontal bars (one bar per series within a category).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarChart {
    /// Above the chart.
    pub title: String,
    /// The values' unit (the horizontal axis).
    pub unit: Unit,
    /// One label per category, top to bottom.
    pub categories: Vec<String>,
    /// One or a few series (e.g. baseline and comparison month), each one value per category.
    pub series: Vec<Series>,
}

/// A chart to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Chart {
    /// Values over time.
    Time(TimeChart),
    /// Values per category.
    Bars(BarChart),
}

/// An encoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    /// The PNG file.
    pub bytes: Vec<u8>,
    /// In pixels.
    pub width: u32,
    /// In pixels.
    pub height: u32,
}

/// Why a chart could not be rendered (callers answer without the chart).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Nothing to draw: no periods, categories or series.
    #[error("nothing to chart")]
    Empty,
    /// The embedded font did not load.
    #[error("the embedded font did not load")]
    Font,
    /// Drawing failed.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encoding(String),
}

/// Renders `chart` as a [`WIDTH`] × [`HEIGHT`] RGB PNG.
pub fn render(chart: &Chart) -> Result<Png, RenderError> {
    style::register_font()?;
    let mut rgb = vec![0u8; (WIDTH as usize) * (HEIGHT as usize) * 3];
    match chart {
        Chart::Time(c) => time::draw(c, &mut rgb, (WIDTH, HEIGHT))?,
        Chart::Bars(c) => bars::draw(c, &mut rgb, (WIDTH, HEIGHT))?,
    }
    let bytes = encode::png(&rgb, WIDTH, HEIGHT)?;
    Ok(Png {
        bytes,
        width: WIDTH,
        height: HEIGHT,
    })
}

/// A drawing error as a [`RenderError`] (plotters' errors are generic over the backend).
pub(crate) fn drawing<E: std::fmt::Display>(e: E) -> RenderError {
    RenderError::Drawing(e.to_string())
}
