#!/usr/bin/env bash
# Rewrites the codec fixtures in tests/data after a change of an embedded model: fixture.lat,
# fixture-expected.png, fixture.json and their gray- twins, quality2.lat, quality2.json and
# packets/. Run it on x86_64 (the fixtures say where they were made); CI then checks that other
# CPUs decode them alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --bin latent
latent=target/release/latent
d=tests/data
rm -rf "$d"/{,gray-}fixture.lat "$d"/{,gray-}fixture-expected.png "$d/packets"
tract=$(cargo metadata --format-version 1 | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tract-onnx"))')
# The colour model's fixture from the RGB input, the gray model's from the same picture as gray
# (the embedded model is picked by the picture's colours).
for prefix in "" gray-; do
  "$latent" compress "$d/${prefix}fixture-input.png" -o "$d/${prefix}fixture.lat" --threads 1
  symbols=$("$latent" decompress "$d/${prefix}fixture.lat" -o "$d/${prefix}fixture-expected.png" --threads 1 --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["symbols_sha256"])')
  cat > "$d/${prefix}fixture.json" <<JSON
{
 "made_on": "x86_64 ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), tract $tract, 1 thread",
 "input": "${prefix}fixture-input.png",
 "symbols_sha256": "$symbols"
}
JSON
done
"$latent" packetize "$d/fixture.lat" --mtu 222 -o "$d/packets"
LATENT_REGENERATE=1 cargo test --test it quality::committed_quality_2_lat
echo "rewrote $d: fixture.lat ($(stat -c %s "$d/fixture.lat") bytes), gray-fixture.lat ($(stat -c %s "$d/gray-fixture.lat") bytes), $(ls "$d/packets" | wc -l) packets"
