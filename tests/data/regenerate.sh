#!/usr/bin/env bash
# Rewrites the codec fixtures in tests/data after a change of the embedded model: fixture.lat,
# fixture-expected.png, fixture.json, quality2.lat, quality2.json and packets/. Run it on x86_64
# (the fixtures say where they were made); CI then checks that other CPUs decode them alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --bin latent
latent=target/release/latent
d=tests/data
rm -rf "$d/fixture.lat" "$d/fixture-expected.png" "$d/packets"
"$latent" compress "$d/fixture-input.png" -o "$d/fixture.lat" --threads 1
symbols=$("$latent" decompress "$d/fixture.lat" -o "$d/fixture-expected.png" --threads 1 --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["symbols_sha256"])')
tract=$(cargo metadata --format-version 1 | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tract-onnx"))')
cat > "$d/fixture.json" <<JSON
{
 "made_on": "x86_64 ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), tract $tract, 1 thread",
 "input": "fixture-input.png",
 "symbols_sha256": "$symbols"
}
JSON
"$latent" packetize "$d/fixture.lat" --mtu 222 -o "$d/packets"
LATENT_REGENERATE=1 cargo test --test it quality::committed_quality_2_lat
echo "rewrote $d: fixture.lat ($(stat -c %s "$d/fixture.lat") bytes), $(ls "$d/packets" | wc -l) packets"
