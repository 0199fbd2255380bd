#!/usr/bin/env bash
# One training call on a GPU machine (README.md, "Training on a GPU"): continues MODEL's
# checkpoint_rate.pt (a folder relative to the repository root: models/codec, models/codec-v5)
# with train_rate.py for SECONDS of wall clock on the photos that pack_photos.py packed into .pack,
# and leaves the new checkpoint, the exported graphs, the learned tables and the log in $OUT.
# Validation and the context tables are run afterwards here: train_rate.py --export-only, then
# context_tables.py.
#
#   bash models/codec/train_on_device.sh MODEL SECONDS [more train_rate.py options]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MODEL SECONDS [train_rate.py options]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/$1
seconds=$2
shift 2
[ -f "$model/checkpoint_rate.pt" ] || { echo "no checkpoint_rate.pt in $model" >&2; exit 2; }
cd "$root/models/codec"
[ -d .pack/train ] || { echo "no .pack/train: run pack_photos.py here and carry models/codec/.pack" >&2; exit 2; }
out=${OUT:?set OUT to the folder that comes back}
cp "$model/checkpoint_rate.pt" "$model/metrics_rate.json" "$out/"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
PYTHONUNBUFFERED=1 python3 train_rate.py --data .pack --out "$out" --resume --device cuda \
  --time-budget "$seconds" "$@" 2>&1 | tee "$out/log"
