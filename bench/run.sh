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

# Matrix exponential: odyn vs Eigen (in the benchmark), SciPy and PyTorch (peer) on the same matrices,
# and the errors of all four on the accuracy suite.
expm_dir="$out/expm"
mkdir -p "$expm_dir"
# Repetitions run in random order, so that a slow spell of a shared machine spreads over all cases.
ODYN_BENCH_EXPM_DIR="$expm_dir" ODYN_EXPM_SUITE="$root/tests/data/expm_suite.txt" "$build/bin/odyn_bench_expm" \
  --benchmark_format=json --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true >"$out/expm.json"
"$py" "$root/bench/peers/expm_peer.py" "$expm_dir" "$root/tests/data/expm_suite.txt" >"$out/expm_peer.json"
"$py" "$root/bench/peers/expm_report.py" "$out/expm.json" "$expm_dir/cases.json" "$expm_dir/suite.json" \
  "$out/expm_peer.json" "$expm_dir/ensemble.json"

# Batched matrix exponential on tensors (only in builds with LibTorch): odyn::torch::expm against
# torch::linalg::matrix_exp in the same process, one thread; ratios torch / odyn and the largest
# relative errors against odyn::linalg::expm in long double.
if [[ -x "$build/bin/odyn_bench_torch_expm" ]]; then
  "$build/bin/odyn_bench_torch_expm" --benchmark_format=json --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true >"$out/torch_expm.json"
  "$py" - "$out/torch_expm.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
median = {b["run_name"].removesuffix("/real_time"): b for b in runs if b.get("aggregate_name") == "median"}
print("| matrices | dtype | torch / odyn | torch / odyn_batched | max rel. error: odyn | odyn_batched | torch |")
print("|---|---|---|---|---|---|---|")
for name in median:
    method, dtype, n, count = name.split("/")
    if method != "odyn":
        continue
    row = {m: median[f"{m}/{dtype}/{n}/{count}"] for m in ("odyn", "odyn_batched", "torch")}
    t = {m: r["real_time"] for m, r in row.items()}
    e = {m: r["max_rel_err"] for m, r in row.items()}
    print(f"| {int(count):,} of {n}×{n} | {dtype} | {t['torch'] / t['odyn']:.1f}× | {t['torch'] / t['odyn_batched']:.1f}× "
          f"| {e['odyn']:.1e} | {e['odyn_batched']:.1e} | {e['torch']:.1e} |")
PY
fi
