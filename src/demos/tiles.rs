//! Arranging small images into grids and strips, with nearest-neighbour zoom.

use image::{GrayImage, Luma, imageops};

/// Gap between tiles, in pixels before zoom.
const GAP: u32 = 2;
/// Gap and border shade.
const GAP_SHADE: u8 = 96;

/// Lays `tiles` (all the same size) out in rows of `columns`, separated by thin gray lines, and
/// scales the result by `zoom` (nearest neighbour).
pub fn grid(tiles: &[GrayImage], columns: usize, zoom: u32) -> GrayImage {
    let columns = columns.clamp(1, tiles.len().max(1)) as u32;
    let rows = tiles.len().div_ceil(columns as usize).max(1) as u32;
    let (tw, th) = tiles.first().map_or((0, 0), |t| t.dimensions());
    let width = columns * (tw + GAP) + GAP;
    let height = rows * (th + GAP) + GAP;
    let mut out = GrayImage::from_pixel(width, height, Luma([GAP_SHADE]));
    for (i, tile) in tiles.iter().enumerate() {
        let (col, row) = (i as u32 % columns, i as u32 / columns);
        let x = GAP + col * (tw + GAP);
        let y = GAP + row * (th + GAP);
        imageops::replace(&mut out, tile, x.into(), y.into());
    }
    zoomed(&out, zoom)
}

/// `image` scaled by an integer factor, nearest neighbour (crisp pixels).
pub fn zoomed(image: &GrayImage, zoom: u32) -> GrayImage {
    if zoom <= 1 {
        return image.clone();
    }
    let (w, h) = image.dimensions();
    imageops::resize(image, w * zoom, h * zoom, imageops::FilterType::Nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_tiles_row_major() {
        let tiles: Vec<GrayImage> = (0..5)
            .map(|i| GrayImage::from_pixel(3, 2, Luma([i * 10])))
            .collect();
        let g = grid(&tiles, 3, 1);
        assert_eq!(g.dimensions(), (3 * 5 + 2, 2 * 4 + 2));
        assert_eq!(g.get_pixel(2, 2).0[0], 0);
        assert_eq!(g.get_pixel(2 + 5, 2).0[0], 10);
        assert_eq!(g.get_pixel(2, 2 + 4).0[0], 30);
        assert_eq!(g.get_pixel(0, 0).0[0], GAP_SHADE);
        assert_eq!(grid(&tiles, 3, 2).dimensions(), (34, 20));
    }
}
