//! The bundled sample photo (768x512 PNG), compiled in so that `latent demo` needs no files.

/// PNG bytes of the sample photo.
pub const SAMPLE_PNG: &[u8] = include_bytes!("../tests/data/sample.png");
