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

# Optimizers: steps per second of odyn's steppers (integrate_n_steps with the concrete class) and of
# torch.optim on the same updates (L = ½‖x‖², lr 1e-3, float64, one thread), ratio torch / odyn; and
# the cost of the odeint stepper abstraction against a hand-written loop, timed in the same iterations.
"$build/bin/odyn_bench_dynamics" --benchmark_format=json --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true >"$out/dynamics.json"
"$py" "$root/bench/peers/dynamics_peer.py" >"$out/dynamics_peer.json"
"$py" - "$out/dynamics.json" "$out/dynamics_peer.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
peer = json.load(open(sys.argv[2]))
median = {b["run_name"].removesuffix("/manual_time"): b for b in runs if b.get("aggregate_name") == "median"}
names = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
dims = (2, 10, 1000)
def rate(v):
    return f"{v / 1e6:.1f} M" if v >= 1e6 else f"{v / 1e3:.0f} k"
def times(v):
    return f"{v:.0f}×" if v >= 10 else f"{v:.1f}×"
impl = peer["implementation"]
print(f"torch {peer['torch']}, implementation run by the default foreach=None: "
      + ", ".join(f"{n} {impl[n]}" for n in names))
print()
print("| optimizer | d | odyn steps/s | torch steps/s | torch foreach=True | torch / odyn |")
print("|---|---|---|---|---|---|")
for n in names:
    for d in dims:
        ours = median[f"BM_Step/{n}/{d}"]["items_per_second"]
        t, f = peer["step"][f"{n}/{d}"], peer["step_foreach"][f"{n}/{d}"]
        print(f"| {n} | {d} | {rate(ours)} | {rate(1 / t)} | {rate(1 / f)} | {times(t * ours)} |")
d2 = peer["d2"]
print()
ops = d2["aten_ops"]
print(f"torch at d = 2, µs per step: opt.step() of plain SGD with the gradient copy "
      f"{peer['step']['sgd/2'] * 1e6:.1f}, its two aten ops written out in Python {d2['sgd_written_out'] * 1e6:.1f}, "
      f"the gradient copy alone "
      f"{d2['gradient_copy'] * 1e6:.1f}; aten ops per step (gradient copy included): "
      + ", ".join(f"{n} {len(ops[n])}" for n in names))
print()
print("Abstraction overhead, time / hand-written loop − 1 (medians over paired bursts): odeint = integrate_n_steps")
print("with the concrete class, do_step = a loop of opt.do_step, virtual = Optimizer::step with a GradientField,")
print("odeint on Optimizer& = integrate_n_steps through make_optimizer's pointer.")
print()
print("| optimizer | d | odeint | do_step | virtual | odeint on Optimizer& | hand-written, ns/step |")
print("|---|---|---|---|---|---|---|")
for n in names:
    for d in dims:
        b = median[f"BM_Overhead/{n}/{d}"]
        paths = ("odeint", "do_step", "virtual", "odeint_virtual")
        cells = " | ".join(f"{b[p + '_over_hand'] - 1:+.0%}" for p in paths)
        print(f"| {n} | {d} | {cells} | {b['hand_ns']:.1f} |")
PY

# Transport: exact and entropic OT against POT, sliced and 1-D against POT and SciPy, MMD and kNN-KL
# against PyTorch, NumPy and SciPy. Each benchmark writes its clouds as .npy into its directory and
# its peer reads them there; transport_report.py prints the ratio tables (odyn / peer).
tdir="$out/transport"
mkdir -p "$tdir"
run_pair() {  # run_pair NAME ENV_VAR BENCH_ARGS...: benchmark, then its peer on the same data
  local name=$1 var=$2
  shift 2
  mkdir -p "$tdir/$name"
  env "$var=$tdir/$name" "$build/bin/odyn_bench_$name" --benchmark_format=json --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true "$@" >"$tdir/$name.json"
  env "$var=$tdir/$name" "$py" "$root/bench/peers/${name}_peer.py" >"$tdir/${name}_peer.json"
}
run_pair emd ODYN_BENCH_EMD_DIR
run_pair sinkhorn ODYN_BENCH_SINKHORN_DIR
run_pair sliced ODYN_BENCH_SLICED_DIR
# MMD_u^2 at n = 10^5 is 2 x 10^10 kernel values (about 30 s in odyn, many minutes in PyTorch):
# ODYN_BENCH_MMD_LARGE=1 includes it.
if [[ "${ODYN_BENCH_MMD_LARGE:-0}" == 1 ]]; then
  run_pair mmd ODYN_BENCH_MMD_DIR
else
  mkdir -p "$tdir/mmd"
  ODYN_BENCH_MMD_DIR="$tdir/mmd" "$build/bin/odyn_bench_mmd" --benchmark_format=json --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_filter='-BM_Mmd2Unbiased/100000' >"$tdir/mmd.json"
  "$py" "$root/bench/peers/mmd_peer.py" "$tdir/mmd" --max-unbiased 10000 >"$tdir/mmd_peer.json"
fi
"$py" "$root/bench/peers/transport_report.py" "$tdir"
# Time against n for every estimator (CSV and a log-log PNG) and peak memory at n = 10^4.
"$build/bin/odyn_exp_transport" scaling --out "$tdir"
for method in exact exact-matrix sinkhorn sliced mmd knn-kl; do
  "$build/bin/odyn_exp_transport" memory --method "$method" --n 10000
done
# Sinkhorn, sliced and MMD on tensors (builds with LibTorch): odyn::torch against odyn::transport on the
# same clouds, one thread.
if [[ -x "$build/bin/odyn_bench_torch_transport" ]]; then
  "$build/bin/odyn_bench_torch_transport" --benchmark_format=json --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true >"$tdir/torch_transport.json"
  "$py" - "$tdir/torch_transport.json" <<'PY'
import json, sys
scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
runs = {b["run_name"].removesuffix("/real_time"): b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
print("| work | odyn::torch | odyn::transport (Eigen) | torch / Eigen | iterations torch / Eigen |")
print("|---|---|---|---|---|")
for name, b in runs.items():
    if not name.startswith("BM_Torch"):
        continue
    parts = name.split("/")
    work = parts[0].removeprefix("BM_Torch")
    eigen = runs.get(f"BM_Eigen{work}/{parts[-1]}")
    t = b["real_time"] * scale[b["time_unit"]]
    label = "/".join([work] + parts[1:])
    if eigen is None:
        print(f"| {label} | {t * 1e3:.1f} ms | | | |")
        continue
    te = eigen["real_time"] * scale[eigen["time_unit"]]
    its = f"{b['iterations']:.0f} / {eigen['iterations']:.0f}" if work == "Sinkhorn" else ""
    print(f"| {label} | {t * 1e3:.1f} ms | {te * 1e3:.1f} ms | {t / te:.2f} | {its} |")
PY
fi

# Optimizer steps on network parameters (builds with LibTorch): odyn::torch's tensor optimizers
# against torch::optim in the same process, one thread; ratio odyn / torch of the time per step.
if [[ -x "$build/bin/odyn_bench_torch_optim" ]]; then
  "$build/bin/odyn_bench_torch_optim" --benchmark_format=json --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true >"$out/torch_optim.json"
  "$py" - "$out/torch_optim.json" <<'PY'
import json, sys
runs = {b["run_name"].removesuffix("/real_time"): b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
print("| model | optimizer | odyn µs | odyn foreach µs | odyn contiguous µs | torch::optim µs | odyn / torch | foreach / torch | contiguous / torch |")
print("|---|---|---|---|---|---|---|---|---|")
for name, b in runs.items():
    parts = name.split("/")
    if parts[1] != "odyn":
        continue
    rest = parts[2:]
    other = runs["/".join([parts[0], "torch"] + rest)]
    label = rest[0] if parts[0] == "BM_Step" else "zero_grad"
    t, o = b["real_time"], other["real_time"]
    cells = []
    for impl in ("odyn_foreach", "odyn_contiguous"):
        v = runs.get("/".join([parts[0], impl] + rest))
        cells.append((f"{v['real_time']:.0f}", f"{v['real_time'] / o:.3f}") if v else ("", ""))
    (f, fr), (c, cr) = cells
    print(f"| {rest[-1]} | {label} | {t:.0f} | {f} | {c} | {o:.0f} | {t / o:.3f} | {fr} | {cr} |")
PY
fi

# GAN training iterations (builds with LibTorch): odyn::gan's Trainer::step() against the same
# models, losses and optimizer in PyTorch (Python), one thread each, run one after the other;
# ratio odyn / PyTorch of the time per iteration (below 1: odyn is faster).
if [[ -x "$build/bin/odyn_bench_gan" ]]; then
  (cd "$root" && "$build/bin/odyn_bench_gan" --benchmark_format=json --benchmark_repetitions=3 \
    --benchmark_min_time=2 --benchmark_report_aggregates_only=true) >"$out/gan.json"
  "$py" "$root/bench/peers/gan_peer.py" >"$out/gan_peer.json"
  "$py" - "$out/gan.json" "$out/gan_peer.json" <<'PY'
import json, sys
ours = {b["run_name"].split("/")[1]: b["real_time"] / 1e3 for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median" and not b.get("error_occurred")}
peer = {j["case"]: j["seconds_per_iteration"] for j in map(json.loads, open(sys.argv[2]))}
print("| case | odyn ms / iteration | PyTorch ms / iteration | odyn / PyTorch |")
print("|---|---|---|---|")
for case, t in ours.items():
    p = peer.get(case)
    if p:
        print(f"| {case} | {t * 1e3:.2f} | {p * 1e3:.2f} | {t / p:.2f} |")
if "dcgan_ogan" in ours and "dcgan_gan_qp_1" in ours:
    print(f"\nO-GAN joint step / GAN-QP iteration with one critic step: "
          f"{ours['dcgan_ogan'] / ours['dcgan_gan_qp_1']:.2f}")
PY
fi
