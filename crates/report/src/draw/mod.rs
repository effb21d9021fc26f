//! The drawing module every chart shares: a chart description (panels of
//! lines or grouped bars, laid out as small multiples on a grid), and one
//! function that draws it with plotters' SVG backend, and the helpers that
//! pick records out of a run. It never measures.
//!
//! Layout rules every chart follows, so a chart reads alone when opened as
//! an SVG file: the title on top, then one legend for the whole chart
//! (outside every plotting area: colours mean the same on every panel),
//! then the panels, then a footer line naming the run and the machine.
//! A backend has the same colour on every chart of the page. A panel draws
//! at most [`MAX_SERIES`] measured series; companions (p99, the setup
//! part) are thin lines in their series' colour, and reference lines are
//! grey. Nothing is drawn outside its axis: a bar that dwarfs the others
//! is cut at a break with its value written above it, whiskers and points
//! are clipped to the axis. X ticks sit at the measured values (binary
//! units for sizes, whole numbers for counts); a zero on a log axis gets
//! its own slot, labelled 0.
//!
//! The drawn rectangles are written into the SVG's root element as data
//! attributes (`data-plots`, `data-legend`, `data-series`,
//! `data-max-series`), so a test can check the layout: the browser check
//! in the driver's tests reads them.
//!
//! One file per idea: [`model`] (what a chart is: panels, series, values,
//! styles), [`render`] (drawing a chart with plotters), [`layout`] (the
//! layout contract and its check), [`select`] (picking a run's records for
//! a chart).

pub mod layout;
pub mod model;
pub mod render;
pub mod select;

pub use layout::{check_layout, Layout, Rect};
pub use model::*;
pub use render::{draw, render_svg};
pub use select::*;
