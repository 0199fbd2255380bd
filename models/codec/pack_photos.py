#!/usr/bin/env python3
"""Pack the training photos small enough to travel with the repository to a GPU machine.

A device machine (see README.md, "Training on a GPU") has no network and takes at most 64 MiB of
working tree and carried files. The 145 training photos of gather-images.sh are 62 MB; train_rate.py
reads them at max side 1024 and 512 anyway, so this writes each one at max side 1024 (common.shrink, as
common.load_photos resizes) as a JPEG at quality 95 without chroma subsampling: about 26 MB in all,
47 dB PSNR from the resized photo on the mean, above what the codec reaches. Validation photos are not
packed: the validation runs here, from the returned checkpoint (train_rate.py --export-only).

    python3 models/codec/pack_photos.py --data DIR [--out models/codec/.pack]

then `--data models/codec/.pack` on the device. Needs pillow, and torch through train.py.
"""

import argparse
import glob
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg, shrink  # noqa: E402


HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SIDE = 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(ap, "directory made by gather-images.sh")
    ap.add_argument("--out", default=os.path.join(HERE, ".pack"))
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.data, "train", "*")))
    if not paths:
        raise SystemExit(f"no training photos in {os.path.join(args.data, 'train')}")
    out = os.path.join(args.out, "train")
    os.makedirs(out, exist_ok=True)
    total = 0
    for path in paths:
        im = shrink(Image.open(path).convert("RGB"), MAX_SIDE)
        name = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + ".jpg")
        im.save(name, "JPEG", quality=95, subsampling=0)
        total += os.path.getsize(name)
    print(f"packed {len(paths)} photos into {out}: {total / 2 ** 20:.1f} MiB")


if __name__ == "__main__":
    main()
