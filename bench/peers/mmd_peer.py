"""The work of bench/mmd_bench.cpp in PyTorch, NumPy and SciPy, on the same samples.

Data direction: bench/mmd_bench.cpp, run with ODYN_BENCH_MMD_DIR=<dir>, writes the 2-D samples
<dir>/x_<n>.npy and <dir>/y_<n>.npy (float64, n x 2); this script reads them from the directory
given as its first argument or, without one, from $ODYN_BENCH_MMD_DIR.
  Mmd2Unbiased/n  n in {10^4, 10^5}: the unbiased MMD_u^2 (Gretton et al. 2012, eq. 3), Gaussian
                  kernel exp(-r^2/2) (bandwidth 1), in PyTorch: torch.cdist on row blocks of at
                  most 2^20 entries, float64, one thread (the diagonal k(x, x) = 1 subtracted).
  Mmd2Linear/n    n in {10^5, 10^6}: the linear-time MMD_l^2 (Lemma 14) in NumPy.
  KnnKl/n         n in {10^4, 10^5}: the kNN KL divergence (Wang et al. 2009, eq. 5, k = 1) with
                  scipy.spatial.cKDTree queries, workers=1.
Prints JSON: {"time": {name: seconds}, "value": {name: estimate}, versions}, names keyed like the
benchmark's runs without "BM_". --max-unbiased N skips Mmd2Unbiased above N points (10^5 takes
minutes). Run with /usr/bin/python3 (Debian's numpy, scipy, torch)."""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from peer_util import load_clouds  # noqa: E402

torch.set_num_threads(1)

UNBIASED = (10000, 100000)
LINEAR = (100000, 1000000)
KNN = (10000, 100000)
BLOCK_ENTRIES = 1 << 20  # 8 MiB of float64 per block of kernel values (2^16..2^24 timed alike)


def timed(fn, seconds=1.0, repeat=5):
    """(median seconds of a call, its value): one call when a call takes over `seconds`."""
    start = time.perf_counter()
    value = fn()
    first = time.perf_counter() - start
    if first > seconds:
        return first, value
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], value


def gaussian_sum(a, b, rows):
    """sum_{i,j} exp(-|a_i - b_j|^2 / 2) over row blocks of a."""
    total = torch.zeros((), dtype=torch.float64)
    for start in range(0, a.shape[0], rows):
        d = torch.cdist(a[start:start + rows], b)
        total += torch.exp(-0.5 * d.square()).sum()
    return total


def mmd2_unbiased_torch(x, y):
    n, m = x.shape[0], y.shape[0]
    rows = max(1, BLOCK_ENTRIES // max(n, m))
    kxx = (gaussian_sum(x, x, rows) - n) / (n * (n - 1))
    kyy = (gaussian_sum(y, y, rows) - m) / (m * (m - 1))
    kxy = gaussian_sum(x, y, rows) / (n * m)
    return float(kxx + kyy - 2 * kxy)


def mmd2_linear_numpy(x, y):
    pairs = min(x.shape[0], y.shape[0]) // 2
    x0, x1 = x[0:2 * pairs:2], x[1:2 * pairs:2]
    y0, y1 = y[0:2 * pairs:2], y[1:2 * pairs:2]

    def k(a, b):
        return np.exp(-0.5 * np.sum((a - b) ** 2, axis=1))

    return float(np.mean(k(x0, x1) + k(y0, y1) - k(x0, y1) - k(x1, y0)))


def knn_kl_scipy(x, y, k=1):
    n, d = x.shape
    m = y.shape[0]
    dx, ix = cKDTree(x).query(x, k=k + 1, workers=1)
    dy, _ = cKDTree(y).query(x, k=k, workers=1)
    dx, ix, dy = dx.reshape(n, k + 1), ix.reshape(n, k + 1), dy.reshape(n, k)
    # Drop x_i itself once: when it is among the first k entries the k-th other point is column k.
    self_early = (ix[:, :k] == np.arange(n)[:, None]).any(axis=1)
    rho = np.where(self_early, dx[:, k], dx[:, k - 1])
    nu = dy[:, k - 1]
    return float(d / n * np.sum(np.log(nu / rho)) + np.log(m / (n - 1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?", default=os.environ.get("ODYN_BENCH_MMD_DIR"))
    parser.add_argument("--max-unbiased", type=int, default=max(UNBIASED))
    args = parser.parse_args()
    if not args.directory:
        parser.error("give the data directory (or set ODYN_BENCH_MMD_DIR)")
    times, values = {}, {}
    for n in UNBIASED:
        if n > args.max_unbiased:
            continue
        x, y = (torch.from_numpy(a) for a in load_clouds(args.directory, n))
        times[f"Mmd2Unbiased/{n}"], values[f"Mmd2Unbiased/{n}"] = timed(lambda: mmd2_unbiased_torch(x, y))
    for n in LINEAR:
        x, y = load_clouds(args.directory, n)
        times[f"Mmd2Linear/{n}"], values[f"Mmd2Linear/{n}"] = timed(lambda: mmd2_linear_numpy(x, y))
    for n in KNN:
        x, y = load_clouds(args.directory, n)
        times[f"KnnKl/{n}"], values[f"KnnKl/{n}"] = timed(lambda: knn_kl_scipy(x, y))
    print(json.dumps({
        "torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "time": times, "value": values,
    }))


if __name__ == "__main__":
    main()
