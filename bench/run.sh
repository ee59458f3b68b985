#!/usr/bin/env bash
# Runs each odyn benchmark and the same work in its Python peer in one go, and prints a table of
# time ratios (peer / odyn: above 1 means odyn is faster). Usage: bench/run.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out="$build/bench"
mkdir -p "$out"
py=/usr/bin/python3

"$build/bin/odyn_bench_io" --benchmark_format=json --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true >"$out/io.json"
"$py" "$root/bench/peers/io_peer.py" >"$out/io_peer.json"

"$py" - "$out/io.json" "$out/io_peer.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))
scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
median = {b["run_name"].removeprefix("BM_"): b["real_time"] * scale[b["time_unit"]]
          for b in ours["benchmarks"] if b.get("aggregate_name") == "median"}
print("| work (10000 x 10 float64) | odyn | NumPy | NumPy / odyn |")
print("|---|---|---|---|")
for name, t in median.items():
    p = peer[name]
    print(f"| {name} | {t * 1e3:.2f} ms | {p * 1e3:.2f} ms | {p / t:.1f}x |")
PY
