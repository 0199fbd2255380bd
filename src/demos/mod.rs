//! The 2-D latent demos: demo VAEs, IDX datasets, seeded normals and image grids.

pub mod gaussian;
pub mod idx;
pub mod tiles;
pub mod vae2d;
