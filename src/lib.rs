//! latent-codec: runs trained VAE image codecs with tract on ARM and x86 CPUs.
//!
//! Image → encoder (μ) → integers → rANS with the model's CDF tables → `.lat`
//! ([`latent_wire`] owns the bytes), and back. See `docs/STRUCTURE.md` for the tour.
//!
//! - [`runtime`]: model bundles, tract plans, kernels, precision, CPU facts;
//! - [`codec`]: the photo codec, its entropy model and packets;
//! - [`denoise`]: the blind denoiser;
//! - [`io`]: images, video frames, input within [`Limits`], output files;
//! - [`report`]: metrics, rate-distortion analysis (and, with `cli`, reference codecs and plots);
//! - `demos` (feature `demos`): the 2-D latent VAEs and their datasets.
#![deny(unsafe_code)]

pub mod codec;
#[cfg(feature = "demos")]
pub mod demos;
pub mod denoise;
pub mod error;
pub mod io;
pub mod limits;
pub mod report;
pub mod runtime;
pub mod sample;

pub use codec::entropy::EntropyModel;
pub use codec::{Codec, Decoded, Encoded};
pub use error::Error;
pub use limits::Limits;
pub use runtime::bundle::ModelBundle;
pub use runtime::precision::Precision;
