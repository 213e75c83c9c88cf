//! Reports: polars aggregation of test metrics into the paper's Table 1
//! (Markdown, CSV, JSON) and plots (plotters).
//!
//! Must not know training internals.
