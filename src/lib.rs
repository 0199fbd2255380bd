//! latent-codec: runs trained VAE image codecs with tract on ARM and x86 CPUs.
//!
//! Image → encoder (μ) → integers → rANS with the model's CDF tables → `.lat`
//! ([`latent_wire`] owns the bytes), and back. See `docs/STRUCTURE.md` for the tour.
#![deny(unsafe_code)]

pub mod bundle;
pub mod codec;
pub mod denoise;
pub mod engine;
pub mod entropy;
pub mod error;
#[cfg(feature = "cli")]
pub mod eval;
pub mod frames;
pub mod gaussian;
pub mod idx;
pub mod imageio;
mod input;
pub mod kernels;
pub mod limits;
pub mod metrics;
pub mod output;
pub mod packets;
#[cfg(feature = "cli")]
pub mod plot;
pub mod precision;
pub mod sample;
pub mod sysinfo;
pub mod tiles;
pub mod vae2d;

pub use bundle::ModelBundle;
pub use codec::{Codec, Decoded, Encoded};
pub use entropy::EntropyModel;
pub use error::Error;
pub use limits::Limits;
pub use precision::Precision;
