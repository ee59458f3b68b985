"""Merges the expm benchmark (odyn, Eigen) with its peer run (SciPy, PyTorch) into the Markdown
tables of docs/performance.md. Usage: expm_report.py BENCH.json CASES.json SUITE.json PEER.json
ENSEMBLE.json"""
import json
import math
import sys

bench, cases, suite, peer, ensemble = (json.load(open(p)) for p in sys.argv[1:6])
scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
median = {b["run_name"]: b["real_time"] * scale[b["time_unit"]]
          for b in bench["benchmarks"] if b.get("aggregate_name") == "median"}
paired = {b["run_name"]: b["eigen_over_odyn"]
          for b in bench["benchmarks"] if b.get("aggregate_name") == "median" and "eigen_over_odyn" in b}
cost = {b["run_name"]: b["time_over_products"]
        for b in bench["benchmarks"] if b.get("aggregate_name") == "median" and "time_over_products" in b}
u = 2.0 ** -53

print("| n | ‖A‖₁ | Eigen / odyn | SciPy / odyn | PyTorch / odyn | products odyn (Eigen) "
      "| error odyn | Eigen | SciPy | PyTorch |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in cases:
    n, k, tag = c["n"], c["tag"].split("_")[1], c["tag"]
    ours = median[f"BM_OdynExpm/{n}/{k}"]
    p = peer["bench"][tag]
    print(f"| {n} | {c['norm']:g} | {paired[f'BM_EigenOverOdyn/{n}/{k}']:.2f} | {p['scipy_time'] / ours:.2f} | {p['torch_time'] / ours:.2f} "
          f"| {c['odyn_products']} ({c['eigen_products']}) | {c['odyn_error']:.1e} | {c['eigen_error']:.1e} "
          f"| {p['scipy_error']:.1e} | {p['torch_error']:.1e} |")
if cost:
    print()
    print("n = 512, time / (products × one 512 × 512 product), the product timed alternately with expm,")
    print("the LU solve counted as 4/3 of a product (Higham 2005's cost model):")
    for c in cases:
        if c["n"] == 512:
            k = c["tag"].split("_")[1]
            solves = c["odyn_solves"]
            print(f"- ‖A‖₁ = {c['norm']:g}: {cost[f'BM_CostModel/512/{k}']:.2f} "
                  f"({c['odyn_products']} products, {solves} solve{'' if solves == 1 else 's'})")
print()
print("| matrix | n | cond·u | odyn | Eigen | SciPy | PyTorch |")
print("|---|---|---|---|---|---|---|")
as_good = 0
for s in suite:
    p = peer["suite"][s["name"]]
    ok = s["odyn_error"] <= max(2 * p["scipy_error"], 4 * u)
    as_good += ok
    print(f"| {s['name']} | {s['n']} | {s['cond'] * u:.1e} | {s['odyn_error']:.1e}{'' if ok else ' *'} "
          f"| {s['eigen_error']:.1e} | {p['scipy_error']:.1e} | {p['torch_error']:.1e} |")
print()
print(f"odyn at least as accurate as SciPy (error ≤ 2× SciPy's or ≤ 4u) on {as_good} of {len(suite)} "
      f"({100 * as_good / len(suite):.0f}%); * marks the others.")

print()
print("Random ensemble (25 matrices per row): geometric mean of each method's error divided by SciPy's on")
print("the same matrix, and the share of matrices where odyn's error is at most 2× SciPy's or 4u.")
print()
print("| n | ‖A‖₁ | kind | odyn / SciPy | Eigen / SciPy | PyTorch / SciPy | odyn ≤ 2× SciPy |")
print("|---|---|---|---|---|---|---|")
def gmean_ratio(xs, ys):
    return math.exp(sum(math.log(max(x, 1e-300) / max(y, 1e-300)) for x, y in zip(xs, ys)) / len(xs))
log_sum, count, within = 0.0, 0, 0
for g in ensemble:
    p = peer["ensemble"][g["group"]]
    sp = p["scipy_error"]
    ok = sum(o <= max(2 * s, 4 * u) for o, s in zip(g["odyn_error"], sp))
    within += ok
    count += len(sp)
    log_sum += sum(math.log(max(o, 1e-300) / max(s, 1e-300)) for o, s in zip(g["odyn_error"], sp))
    print(f"| {g['n']} | {g['norm']:g} | {g['kind']} | {gmean_ratio(g['odyn_error'], sp):.2f} "
          f"| {gmean_ratio(g['eigen_error'], sp):.2f} | {gmean_ratio(p['torch_error'], sp):.2f} | {ok}/{len(sp)} |")
print()
print(f"All {count}: geometric mean odyn / SciPy {math.exp(log_sum / count):.2f}; odyn ≤ 2× SciPy or ≤ 4u on "
      f"{within} ({100 * within / count:.0f}%).")
