//! Files in and out: images, video frames, untrusted input within limits, safe output.

pub mod frames;
pub mod imageio;
pub(crate) mod input;
pub mod output;
