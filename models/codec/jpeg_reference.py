"""PSNR-RGB and the Pillow JPEG reference at a given bpp, shared by train.py and rd_table.py."""

import io
import math

import numpy as np
from PIL import Image


def psnr(a, b):
    """PSNR in dB of two 8-bit arrays."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))


def jpeg_at_bpp(rgb, target_bpp):
    """PSNR of Pillow JPEG (default 4:2:0) at target bpp, log-bpp interpolated over quality 1..95."""
    points = []
    for q in range(1, 96, 2):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=q)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        points.append((8 * len(buf.getvalue()) / (rgb.shape[0] * rgb.shape[1]), psnr(rgb, dec)))
    points.sort()
    bpps = np.log([p[0] for p in points])
    return float(np.interp(math.log(target_bpp), bpps, [p[1] for p in points]))
