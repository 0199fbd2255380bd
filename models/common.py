"""What the recipes share: PSNR, loading photos, and where the training data lives.

The data folder (made by shared/data/gather-images.sh: train/, val/, digits) is --data, or the
LATENT_DATA environment variable when --data is not given. Scripts in models/*/ put this folder on
sys.path first, so every script runs from any directory, the repository root included.
"""

import glob
import math
import os

import numpy as np
from PIL import Image

DATA_ENV = "LATENT_DATA"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_data_arg(parser, help="folder made by shared/data/gather-images.sh"):
    """--data, defaulting to $LATENT_DATA (required when that is unset)."""
    default = os.environ.get(DATA_ENV)
    parser.add_argument("--data", default=default, required=default is None,
                        help=f"{help} (default: ${DATA_ENV})")


def portable(path):
    """`path` relative to the repository when inside it, else only its last component: what a
    metrics file records, so that it holds no machine's absolute paths."""
    full = os.path.abspath(path)
    if os.path.commonpath([REPO, full]) == REPO:
        return os.path.relpath(full, REPO)
    return os.path.basename(full.rstrip(os.sep))


def psnr(a, b):
    """PSNR in dB of two 8-bit arrays (PSNR-RGB for colour)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))


def shrink(im, max_side):
    """`im` resized (Lanczos) so that its longer side is at most `max_side`; never enlarged."""
    scale = max_side / max(im.size)
    if scale >= 1:
        return im
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)


def load_photos(folder, max_side=1024):
    """The pictures of `folder` in name order as RGB uint8 arrays, each shrunk to `max_side`; files
    that are not pictures are skipped."""
    photos = []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        try:
            im = Image.open(path).convert("RGB")
        except OSError:
            continue
        photos.append(np.asarray(shrink(im, max_side)))
    return photos
