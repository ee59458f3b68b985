"""Tables of bench/run.sh's transport section: odyn's Google Benchmark JSON beside its peers' JSON
(POT, SciPy, PyTorch), same data, one thread. Usage: transport_report.py DIR, where DIR holds
emd.json, emd_peer.json, sinkhorn.json, sinkhorn_peer.json, sliced.json, sliced_peer.json, mmd.json
and mmd_peer.json. Ratios are peer / odyn wall time, as everywhere in docs/performance.md: above 1
means odyn is faster."""
import json
import os
import sys

SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def medians(path):
    """{run name: (median wall seconds, counters)} of a Google Benchmark JSON file."""
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b["run_name"].removesuffix("/real_time")
        out[name] = (b["real_time"] * SCALE[b["time_unit"]], b)
    return out


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def main():
    d = sys.argv[1]
    load = lambda name: json.load(open(os.path.join(d, name)))  # noqa: E731

    ours = medians(os.path.join(d, "emd.json"))
    peer = load("emd_peer.json")
    print("Exact OT, emd2 (2-D uniform clouds, squared Euclidean cost): odyn vs POT ot.emd2")
    print()
    print("| n | odyn emd2 | odyn emd_points | POT | POT / odyn emd2 | POT / odyn emd_points | value rel. diff. |")
    print("|---|---|---|---|---|---|---|")
    for n, p in sorted(peer.items(), key=lambda kv: int(kv[0])):
        t, b = ours[f"BM_Emd2/{n}"]
        tp, _ = ours[f"BM_EmdPoints/{n}"]
        print(f"| {n} | {t * 1e3:.1f} ms | {tp * 1e3:.1f} ms | {p['seconds'] * 1e3:.1f} ms | {p['seconds'] / t:.1f} "
              f"| {p['seconds'] / tp:.1f} | {rel(b['value'], p['value']):.1e} |")

    ours = medians(os.path.join(d, "sinkhorn.json"))
    peer = load("sinkhorn_peer.json")
    print()
    print(f"Entropic OT, eps = {peer['eps']} (2-D uniform clouds, squared Euclidean cost): odyn sinkhorn vs {peer['peer']}, stopThr {peer['stopThr']}")
    print()
    print("| n | odyn | iterations | L1 marginal error | POT | iterations | L1 marginal error | POT / odyn | OT_eps rel. diff. |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, p in peer["runs"].items():
        t, b = ours[name]
        n = name.split("/")[1]
        print(f"| {n} | {t * 1e3:.0f} ms | {b['iterations']:.0f} | {b['marginal_error']:.1e} | {p['seconds'] * 1e3:.0f} ms "
              f"| {p['iterations']} | {p['marginal_error']:.1e} | {p['seconds'] / t:.1f} | {rel(b['value'], p['value']):.1e} |")

    ours = medians(os.path.join(d, "sliced.json"))
    peer = load("sliced_peer.json")
    print()
    print("Sliced (100 directions, p = 2), 1-D (p = 1) and max-sliced: odyn vs POT / SciPy")
    print()
    print("| work | odyn | peer | peer / odyn | values |")
    print("|---|---|---|---|---|")
    for name, p in peer.items():
        if name not in ours:
            continue
        t, b = ours[name]
        if name.startswith("BM_Sliced"):
            print(f"| {name[3:]} | {t * 1e3:.1f} ms | POT {p['seconds'] * 1e3:.1f} ms (same directions "
                  f"{p['seconds_same_directions'] * 1e3:.1f} ms) | {p['seconds'] / t:.1f} "
                  f"| same directions: rel. diff. {rel(b['value'], p['value_same_directions']):.1e} |")
        elif name.startswith("BM_Wasserstein1d"):
            print(f"| {name[3:]} | {t * 1e3:.2f} ms | SciPy {p['seconds'] * 1e3:.2f} ms, POT {p['seconds_pot'] * 1e3:.2f} ms "
                  f"| {p['seconds'] / t:.1f} (SciPy), {p['seconds_pot'] / t:.1f} (POT) "
                  f"| rel. diff. {rel(b['value'], p['value']):.1e} (SciPy) |")
        else:
            print(f"| {name[3:]} | {t * 1e3:.1f} ms | POT {p['seconds'] * 1e3:.1f} ms (best of the same directions, "
                  f"no ascent) | {p['seconds'] / t:.1f} | odyn {b['value']:.6g} ≥ POT {p['value']:.6g} |")

    ours = medians(os.path.join(d, "mmd.json"))
    peer = load("mmd_peer.json")
    print()
    print("MMD (Gaussian kernel, bandwidth 1) and kNN-KL (k = 1), 2-D Gaussian samples: odyn vs PyTorch / NumPy / SciPy")
    print()
    print("| work | odyn | peer | peer / odyn | value rel. diff. |")
    print("|---|---|---|---|---|")
    who = {"Mmd2Unbiased": "PyTorch (cdist blocks)", "Mmd2Linear": "NumPy", "KnnKl": "SciPy cKDTree"}
    for name, tp in peer["time"].items():
        key = "BM_" + name
        if key not in ours:
            continue
        t, b = ours[key]
        print(f"| {name} | {t * 1e3:.1f} ms | {who[name.split('/')[0]]} {tp * 1e3:.1f} ms | {tp / t:.1f} "
              f"| {rel(b['value'], peer['value'][name]):.1e} |")


if __name__ == "__main__":
    main()
