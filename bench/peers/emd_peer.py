"""The work of bench/emd_bench.cpp's BM_Emd2 in POT: ot.emd2 (LEMON-derived network simplex in C++)
on the clouds x_<n>.npy, y_<n>.npy that emd_bench writes into the directory given as argv[1] (or
$ODYN_BENCH_EMD_DIR), n in {500, 1000, 2000, 4000}: uniform weights, squared Euclidean cost
ot.dist(x, y) built untimed, numItermax large enough to reach optimality, one thread. Prints JSON
{"<n>": {"seconds": median seconds per call, "value": optimal cost}}. Run with /usr/bin/python3."""
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import ot  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from peer_util import directory_and_sizes, load_clouds, median_time  # noqa: E402

SIZES = (500, 1000, 2000, 4000)


def main():
    directory, sizes = directory_and_sizes("ODYN_BENCH_EMD_DIR", SIZES)
    out = {}
    for n in sizes:
        x, y = load_clouds(directory, n)
        a = np.full(n, 1.0 / n)
        b = np.full(n, 1.0 / n)
        cost = ot.dist(x, y)  # squared Euclidean
        iters = 100 * n * n  # far above the pivots POT needs, so it stops at the optimum
        value = float(ot.emd2(a, b, cost, numItermax=iters))
        seconds = median_time(lambda: ot.emd2(a, b, cost, numItermax=iters), repeat=3 if n >= 2000 else 5)
        out[str(n)] = {"seconds": seconds, "value": value}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
