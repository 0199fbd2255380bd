//! Plots rendered to RGB images with plotters and an embedded font (no system fonts needed).

use std::sync::Once;

use image::RgbImage;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans cut down to ASCII and a few symbols (see `src/report/fonts/LICENSE`).
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";

/// Category colours (the "tab10" palette), cycled when there are more classes.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Width of the legend column, pixels.
const LEGEND_WIDTH: u32 = 170;

/// A plot that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw plot: {0}")]
pub struct PlotError(String);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and checked by the tests; a failure here would be a build bug.
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("embedded font does not parse"));
    });
}

/// A scatter plot of labelled 2-D points, one colour per class, with axes and a legend naming
/// `classes` (label `k` is `classes[k]`).
pub fn scatter(
    title: &str,
    (x_desc, y_desc): (&str, &str),
    points: &[(f32, f32, u8)],
    classes: &[String],
    size: (u32, u32),
) -> Result<RgbImage, PlotError> {
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let (xr, yr) = padded_range(points);
    let names = classes
        .iter()
        .enumerate()
        .map(|(k, name)| format!("{k}: {name}"));
    let frame = Frame {
        title,
        axes: (x_desc, y_desc),
        size,
    };
    frame.draw(xr.0..xr.1, yr.0..yr.1, (names, Marker::Dot), |chart| {
        for (k, _) in classes.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| usize::from(p.2) == k)
                        .map(|&(x, y, _)| Circle::new((x, y), 2, color.mix(0.7).filled())),
                )
                .map_err(|e| err(&e))?;
        }
        Ok(())
    })
}

/// Histograms of several series of samples (`(name, values)`) on one shared axis, one colour
/// per series with a legend: e.g. the latencies of each `bench` combination.
pub fn histograms(
    title: &str,
    x_desc: &str,
    series: &[(String, Vec<f64>)],
    size: (u32, u32),
) -> Result<RgbImage, PlotError> {
    const BINS: usize = 60;
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let all = || series.iter().flat_map(|(_, v)| v).filter(|v| v.is_finite());
    let lo = all().copied().fold(f64::INFINITY, f64::min);
    let hi = all().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let step = (hi - lo) / BINS as f64;
    let counts: Vec<Vec<u32>> = series
        .iter()
        .map(|(_, v)| {
            let mut c = vec![0u32; BINS];
            for x in v.iter().filter(|x| x.is_finite()) {
                c[(((x - lo) / step) as usize).min(BINS - 1)] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let frame = Frame {
        title,
        axes: (x_desc, "runs"),
        size,
    };
    let names = series.iter().map(|(name, _)| name.clone());
    frame.draw(
        lo..hi,
        0u32..top + top / 10 + 1,
        (names, Marker::Square),
        |chart| {
            for (k, c) in counts.iter().enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                chart
                    .draw_series(
                        c.iter()
                            .enumerate()
                            .filter(|(_, n)| **n > 0)
                            .map(|(b, &n)| {
                                let x0 = lo + b as f64 * step;
                                Rectangle::new([(x0, 0), (x0 + step, n)], color.mix(0.6).filled())
                            }),
                    )
                    .map_err(|e| err(&e))?;
            }
            Ok(())
        },
    )
}

/// Rate-distortion curves: one line with markers per codec (`(name, [(bpp, PSNR dB)])`),
/// bits per pixel on x, PSNR on y, with a legend.
pub fn rd_curves(
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
    x_max: f64,
    size: (u32, u32),
) -> Result<RgbImage, PlotError> {
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let visible = || {
        series
            .iter()
            .flat_map(|(_, v)| v)
            .filter(|p| p.0 <= x_max && p.1.is_finite())
    };
    let lo = visible().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = visible().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo <= hi {
        (lo.floor() - 1.0, hi.ceil() + 1.0)
    } else {
        (0.0, 50.0)
    };
    let frame = Frame {
        title,
        axes: ("bits per pixel", "PSNR-RGB (dB)"),
        size,
    };
    let names = series.iter().map(|(name, _)| name.clone());
    frame.draw(0.0..x_max, lo..hi, (names, Marker::Dot), |chart| {
        for (k, (_, points)) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let shown: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0 <= x_max).collect();
            chart
                .draw_series(LineSeries::new(shown.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(shown.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        Ok(())
    })
}

/// The parts every plot here shares: a title, axis descriptions and the image size.
struct Frame<'a> {
    title: &'a str,
    axes: (&'a str, &'a str),
    size: (u32, u32),
}

/// A chart over the plot area of a [`Frame`], in the coordinates of its x and y ranges.
type Chart<'a, 'b, X, Y> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

impl Frame<'_> {
    /// Draws the frame (caption, axes with labels and a light grid, the legend column with
    /// `legend`'s entries) over x and y, lets `series` draw into the chart, and returns the
    /// picture.
    fn draw<X, Y>(
        &self,
        x: X,
        y: Y,
        (names, marker): (impl Iterator<Item = String>, Marker),
        series: impl FnOnce(&mut Chart<'_, '_, X, Y>) -> Result<(), PlotError>,
    ) -> Result<RgbImage, PlotError>
    where
        X: AsRangedCoord,
        Y: AsRangedCoord,
        X::CoordDescType: ValueFormatter<X::Value>,
        Y::CoordDescType: ValueFormatter<Y::Value>,
    {
        register_font();
        let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
        let (width, height) = self.size;
        let mut buf = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            let (plot_area, legend_area) =
                root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(self.title, (FAMILY, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(x, y)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc(self.axes.0)
                .y_desc(self.axes.1)
                .label_style((FAMILY, 13))
                .axis_desc_style((FAMILY, 15))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(|e| err(&e))?;
            series(&mut chart)?;
            legend(&legend_area, names, marker)?;
            root.present().map_err(|e| err(&e))?;
        }
        RgbImage::from_raw(width, height, buf).ok_or_else(|| PlotError("buffer size".into()))
    }
}

/// How a legend entry shows its colour: a dot (points, lines) or a square (bars).
#[derive(Clone, Copy)]
enum Marker {
    Dot,
    Square,
}

/// One legend entry per name, in palette order, down the legend column.
fn legend(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    names: impl Iterator<Item = String>,
    marker: Marker,
) -> Result<(), PlotError> {
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    for (k, name) in names.enumerate() {
        let y = 50 + 22 * k as i32;
        let color = PALETTE[k % PALETTE.len()];
        match marker {
            Marker::Dot => area.draw(&Circle::new((14, y), 5, color.filled())),
            Marker::Square => area.draw(&Rectangle::new([(8, y - 5), (20, y + 5)], color.filled())),
        }
        .map_err(|e| err(&e))?;
        area.draw_text(&name, &(FAMILY, 14).into_text_style(area), (26, y - 8))
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// The bounding box of `points` with 5 % margins (a unit box around the origin when empty).
fn padded_range(points: &[(f32, f32, u8)]) -> ((f32, f32), (f32, f32)) {
    let fold = |f: fn(&(f32, f32, u8)) -> f32| {
        points
            .iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let pad = |(lo, hi): (f32, f32)| {
        if lo > hi {
            return (-1.0, 1.0);
        }
        let m = ((hi - lo) * 0.05).max(1e-3);
        (lo - m, hi + m)
    };
    (pad(fold(|p| p.0)), pad(fold(|p| p.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_draw_each_series_in_its_colour() {
        let series = vec![
            ("a".to_string(), vec![10.0, 10.5, 11.0, 10.2]),
            ("b".to_string(), vec![30.0, 31.0, f64::NAN]),
        ];
        let img = histograms("t", "ms", &series, (600, 300)).unwrap();
        assert_eq!(img.dimensions(), (600, 300));
        // Legend swatches are drawn in the series' full colours.
        let has = |c: RGBColor| img.pixels().any(|p| p.0 == [c.0, c.1, c.2]);
        assert!(has(PALETTE[0]) && has(PALETTE[1]));
        assert!(histograms("empty", "ms", &[], (300, 200)).is_ok());
    }

    #[test]
    fn scatter_draws_points_in_class_colours() {
        let points = vec![(0.0, 0.0, 0), (1.0, 1.0, 1), (0.5, 0.2, 1)];
        let classes = vec!["zero".to_string(), "one".to_string()];
        let img = scatter("t", ("x", "y"), &points, &classes, (500, 300)).unwrap();
        assert_eq!(img.dimensions(), (500, 300));
        let has = |c: RGBColor| img.pixels().any(|p| p.0 == [c.0, c.1, c.2]);
        assert!(has(PALETTE[0]) && has(PALETTE[1]), "legend markers drawn");
        // Text was rendered: some dark anti-aliased pixels exist beyond the markers.
        assert!(
            img.pixels()
                .filter(|p| p.0[0] < 60 && p.0[1] < 60 && p.0[2] < 60)
                .count()
                > 50
        );
    }
}
