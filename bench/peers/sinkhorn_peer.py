"""The work of bench/sinkhorn_bench.cpp's BM_Sinkhorn in POT: ot.sinkhorn2(a, b, M, 1e-2) (the default
method, plain kernel scaling) on the same two 2-D uniform clouds, uniform weights, squared Euclidean
cost, float64, one thread. Data: the benchmark writes the clouds as x_<n>.npy and y_<n>.npy into the
directory named by $ODYN_BENCH_SINKHORN_DIR; run it first with that variable set, then this script
with the same variable. The cost matrix is built untimed. POT stops when the L2 norm of the column
marginal violation, checked every 10 iterations, is below stopThr; STOP_THR is chosen so that the L1
marginal error reached is comparable to the benchmark's tolerance (1e-7). Prints JSON keyed like the
benchmark ("BM_Sinkhorn/1000"): median wall and CPU seconds of sinkhorn2, and from an untimed ot.sinkhorn run with
the same arguments the iterations, the L1 marginal error sum_j |(P^T 1)_j - b_j| of its plan, the L2
error POT tests, <P, M> (= sinkhorn2) and OT_eps = <P, M> + eps KL(P | a b^T). Run with
/usr/bin/python3."""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import ot  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # torch is not needed here
    pass

EPS = 1e-2
STOP_THR = 1e-8
MAX_ITER = 100000
SIZES = (1000, 4000)


def median_seconds(fn, repeat):
    """Medians of the wall and the process CPU seconds of fn() over `repeat` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return sorted(wall)[len(wall) // 2], sorted(cpu)[len(cpu) // 2]


def run(directory, n):
    x = np.load(os.path.join(directory, f"x_{n}.npy"))
    y = np.load(os.path.join(directory, f"y_{n}.npy"))
    a = np.full(n, 1.0 / n)
    b = np.full(n, 1.0 / n)
    m = ot.dist(x, y)  # squared Euclidean
    seconds, cpu_seconds = median_seconds(lambda: ot.sinkhorn2(a, b, m, EPS, stopThr=STOP_THR, numItermax=MAX_ITER),
                             5 if n <= 1000 else 3)
    plan, log = ot.sinkhorn(a, b, m, EPS, stopThr=STOP_THR, numItermax=MAX_ITER, log=True)
    column = plan.sum(axis=0)
    positive = plan > 0
    kl = float(np.sum(plan[positive] * np.log(plan[positive] / np.outer(a, b)[positive])))
    cost = float(np.sum(plan * m))
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "iterations": int(log["niter"]),
        "marginal_error": float(np.abs(column - b).sum()),
        "marginal_error_l2": float(np.linalg.norm(column - b)),
        "transport_cost": cost,
        "value": cost + EPS * kl,
    }


def main():
    directory = os.environ.get("ODYN_BENCH_SINKHORN_DIR")
    if not directory:
        sys.exit("set ODYN_BENCH_SINKHORN_DIR to the directory where sinkhorn_bench wrote its clouds")
    sizes = [int(s) for s in sys.argv[1:]] or list(SIZES)
    print(json.dumps({
        "peer": "POT " + ot.__version__ + " ot.sinkhorn2 (method 'sinkhorn')",
        "eps": EPS,
        "stopThr": STOP_THR,
        "runs": {f"BM_Sinkhorn/{n}": run(directory, n) for n in sizes},
    }, indent=1))


if __name__ == "__main__":
    main()
