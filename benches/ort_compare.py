#!/usr/bin/env python3
"""tract (through `latent bench`) against onnxruntime on the same ONNX graphs, input shapes and threads.

For each thread count it alternates: one `latent bench --json` run over all stages, then onnxruntime on each
graph that run reports (same `onnx` file, same `input_shape`), several rounds, and prints the median latency of
each and the tract/onnxruntime ratio (below 1.0: tract is faster).
    python3 benches/ort_compare.py [--bin target/release/latent] [--size 768x512] [--threads 1,2] [--rounds 3]
                                   [--precision f32,int8]
    python3 benches/ort_compare.py --onnx FILE [--input NAME=1x3x512x512 ...] [--threads 1,2] [--rounds 3]
With --onnx, any graph `latent bench --onnx` takes (f32 inputs; the same shapes, values in [0, 1)).
With int8, both run the int8 graphs (QLinearConv): tract's integer kernels against onnxruntime's. A run
with int8 keeps tract's AVX-512 kernels for f32 too (`src/runtime/kernels.rs`), so on AMD Zen 4 its f32 ratios
are worse than those of an f32-only run, which is what `compress` and `decompress` get.
"""

import argparse
import json
import os
import statistics
import subprocess
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ort_ms(path, shapes, threads, runs=10):
    """Median ms of onnxruntime on `path`, its inputs in order of `shapes`."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {i.name: rng.random(shape, dtype=np.float32) for i, shape in zip(sess.get_inputs(), shapes)}
    sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "latent"))
    p.add_argument("--size", default="768x512")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--precision", default="f32", help="f32 and/or int8, comma-separated")
    p.add_argument("--onnx", help="time this graph instead of the bundled stages")
    p.add_argument("--input", action="append", default=[], help="with --onnx: NAME=SHAPE, as for latent bench")
    args = p.parse_args()
    if args.onnx:
        subject = ["--onnx", os.path.abspath(args.onnx)] + [a for i in args.input for a in ("--input", i)]
    else:
        subject = ["--size", args.size, "--precision", args.precision]
    results = {}
    for threads in [int(t) for t in args.threads.split(",")]:
        for _ in range(args.rounds):
            out = subprocess.run([args.bin, "bench", *subject, "--threads", str(threads), "--runs", "10",
                                  "--min-secs", "0", "--json"], check=True, capture_output=True, text=True, cwd=ROOT)
            for r in json.loads(out.stdout)["results"]:
                key = (r["stage"], r["precision"], threads)
                entry = results.setdefault(key, {"tract": [], "ort": [], "onnx": r["onnx"]})
                entry["tract"].append(r["p50_ms"])
                shapes = [i["shape"] for i in r["inputs"]]
                entry["ort"].append(ort_ms(os.path.join(ROOT, r["onnx"]), shapes, threads))
    print(f"{'stage':8} {'prec':>5} {'threads':>7} {'tract ms':>9} {'ORT ms':>9} {'tract/ORT':>9}  graph")
    for (stage, precision, threads), e in sorted(results.items()):
        t, o = statistics.median(e["tract"]), statistics.median(e["ort"])
        print(f"{stage:8} {precision:>5} {threads:>7} {t:9.1f} {o:9.1f} {t / o:9.2f}  {e['onnx']}")


if __name__ == "__main__":
    main()
