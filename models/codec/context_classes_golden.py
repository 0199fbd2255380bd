#!/usr/bin/env python3
"""The golden case that keeps context_tables.py's context classes equal to latent-wire's.

context_tables.py counts its tables per class with its own NumPy copy of the rule in
latent_wire::symbols (the class of a symbol from its neighbours' distances from the predictor's
guess, and from the non-zero channels before it). This writes a latent, the predictor weights
fitted to it and the class context_tables.py gives every symbol to
firmware/tests/data/context_classes.bin; the firmware's test
`symbols::tests::classes_equal_context_tables_py` computes them again and must agree.

    python3 models/codec/context_classes_golden.py

Layout (little-endian i32): channels, height, width, shift; 4 weights per channel; the symbols
(channel-major); their classes.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from context_tables import SHIFT, classes, fit_predictor, guess  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "firmware", "tests", "data", "context_classes.bin")


def main():
    rng = np.random.default_rng(7)
    scales = [0.3, 0.6, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 3.0, 5.0]
    c, h, w = len(scales), 6, 8
    # Smooth ramps plus Laplace noise at ten scales, so that every class occurs (13 needs eight
    # non-zero channels before the first position).
    ramp = np.arange(h)[:, None] + np.arange(w)[None, :]
    symbols = np.stack([np.round(rng.laplace(0, s, (h, w)) + (k % 4) * ramp / 4)
                        for k, s in enumerate(scales)]).astype(np.int64)
    symbols[:, 0, 0] = np.arange(1, c + 1)
    weights = fit_predictor([symbols])
    k, _ = classes(symbols, guess(symbols, weights))
    assert len(np.unique(k)) == 14, np.unique(k)
    data = np.concatenate([[c, h, w, SHIFT], weights.ravel(), symbols.ravel(), k.ravel()])
    with open(OUT, "wb") as f:
        f.write(data.astype("<i4").tobytes())
    print(f"{os.path.relpath(OUT)}: {c}x{h}x{w}, classes {sorted(set(k.ravel().tolist()))}")


if __name__ == "__main__":
    main()
