//! Measuring and showing results: image metrics, rate-distortion evaluation, plots.

#[cfg(feature = "cli")]
pub mod eval;
pub mod metrics;
#[cfg(feature = "cli")]
pub mod plot;
