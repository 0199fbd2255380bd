"""The Pillow JPEG and WebP references at a given bpp, shared by train.py, rd_table.py and train_log.py; an
H x W x 3 array is coded as colour, an H x W one as gray (a one-component JPEG)."""

import io
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import psnr  # noqa: E402


def jpeg_at_bpp(rgb, target_bpp):
    """PSNR of Pillow JPEG (default 4:2:0) at target bpp, log-bpp interpolated over quality 1..95;
    None when no quality lands on both sides of it (never extrapolated)."""
    return at_bpp(jpeg_curve(rgb), target_bpp)


def jpeg_curve(rgb):
    """Pillow JPEG's (bpp, PSNR) points over jpeg_at_bpp's qualities, sorted by bpp."""
    return _curve(rgb, "JPEG", range(1, 96, 2), {})


def webp_at_bpp(rgb, target_bpp):
    """Likewise for Pillow WebP (libwebp, method 6) over quality 0..100 in steps of 5."""
    return at_bpp(webp_curve(rgb), target_bpp)


def webp_curve(rgb):
    """Pillow WebP's (bpp, PSNR) points over webp_at_bpp's qualities, sorted by bpp."""
    return _curve(rgb, "WEBP", range(0, 101, 5), {"method": 6})


def at_bpp(points, target_bpp):
    """PSNR of the (bpp, PSNR) `points` (sorted by bpp) at `target_bpp`, interpolated in log-bpp; None outside."""
    if not points[0][0] <= target_bpp <= points[-1][0]:
        return None
    bpps = np.log([p[0] for p in points])
    return float(np.interp(math.log(target_bpp), bpps, [p[1] for p in points]))


def _curve(rgb, fmt, qualities, options):
    points = []
    for q in qualities:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt, quality=q, **options)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L" if rgb.ndim == 2 else "RGB"))
        points.append((8 * len(buf.getvalue()) / (rgb.shape[0] * rgb.shape[1]), psnr(rgb, dec)))
    return sorted(points)
