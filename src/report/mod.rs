//! Measuring and showing results: image metrics, rate-distortion analysis, and with the `cli`
//! feature the reference codecs (JPEG, WebP) and plots.

pub mod metrics;
#[cfg(feature = "cli")]
pub mod plot;
pub mod rd;
#[cfg(feature = "cli")]
pub mod reference;
