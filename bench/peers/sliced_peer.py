"""The work of bench/sliced_bench.cpp in POT and SciPy, on the data that sliced_bench writes (data
direction: the benchmark writes, this peer reads) into the directory given as argv[1] (or
$ODYN_BENCH_SLICED_DIR): x_<n>.npy, y_<n>.npy (n x 2 float64, n in {10000, 100000}) and theta.npy
(2 x 100, odyn's sliced_directions(2, 100, 0)). One thread. Times, per call (median):
  BM_Sliced/<n>: ot.sliced_wasserstein_distance(X, Y, n_projections=100, p=2) with POT's own random
    directions (seed 0) -- "seconds", "value" -- and with projections=theta, odyn's directions, whose
    value must equal odyn's to rounding -- "seconds_same_directions", "value_same_directions";
  BM_Wasserstein1d/<n>: scipy.stats.wasserstein_distance(X[:, 0], Y[:, 0]) (p = 1) -- "seconds",
    "value" -- and ot.wasserstein_1d(X[:, 0], Y[:, 0], p=1) -- "seconds_pot", "value_pot";
  BM_MaxSliced/10000: ot.max_sliced_wasserstein_distance(X, Y, p=2, projections=theta), the best of
    the 100 directions with no ascent (a lower bound on odyn's value).
Prints JSON keyed by the benchmark names. Run with /usr/bin/python3 after sliced_bench."""
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import ot  # noqa: E402
import scipy.stats  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from peer_util import directory_and_sizes, load_clouds, median_time  # noqa: E402

SIZES = (10000, 100000)
PROJECTIONS = 100


def main():
    directory, sizes = directory_and_sizes("ODYN_BENCH_SLICED_DIR", SIZES)
    theta = np.load(os.path.join(directory, "theta.npy"))
    out = {}
    for n in sizes:
        x, y = load_clouds(directory, n)
        repeat = 3 if n >= 100000 else 5

        def sliced():
            return ot.sliced_wasserstein_distance(x, y, n_projections=PROJECTIONS, p=2, seed=0)

        def sliced_same():
            return ot.sliced_wasserstein_distance(x, y, n_projections=PROJECTIONS, p=2, projections=theta)

        out[f"BM_Sliced/{n}"] = {
            "seconds": median_time(sliced, repeat),
            "value": float(sliced()),
            "seconds_same_directions": median_time(sliced_same, repeat),
            "value_same_directions": float(sliced_same()),
        }
        u, v = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(y[:, 0])
        out[f"BM_Wasserstein1d/{n}"] = {
            "seconds": median_time(lambda: scipy.stats.wasserstein_distance(u, v), repeat),
            "value": float(scipy.stats.wasserstein_distance(u, v)),
            "seconds_pot": median_time(lambda: ot.wasserstein_1d(u, v, p=1), repeat),
            "value_pot": float(ot.wasserstein_1d(u, v, p=1)),
        }
        if n == 10000:

            def max_sliced():
                return ot.max_sliced_wasserstein_distance(x, y, n_projections=PROJECTIONS, p=2, projections=theta)

            out[f"BM_MaxSliced/{n}"] = {"seconds": median_time(max_sliced, repeat), "value": float(max_sliced())}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
