"""Helpers shared by the Python peers of the transport benchmarks (bench/peers/*_peer.py). The peers
run as scripts and import this file by path; import it after setting the thread variables, since
it imports NumPy."""
import os
import sys
import timeit

import numpy as np


def median_time(fn, repeat=5):
    """Median seconds per call of fn over `repeat` timings of about 0.2 s each, after one warm-up call."""
    fn()
    number = max(1, int(0.2 / max(timeit.timeit(fn, number=1), 1e-7)))
    times = sorted(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))
    return times[len(times) // 2]


def directory_and_sizes(variable, default_sizes):
    """The data directory (argv[1], else the environment variable `variable`) and the sizes to run
    (argv[2:], else default_sizes)."""
    directory = sys.argv[1] if len(sys.argv) > 1 else os.environ[variable]
    return directory, [int(s) for s in sys.argv[2:]] or default_sizes


def load_clouds(directory, n):
    """The clouds x_<n>.npy and y_<n>.npy that the benchmark wrote into `directory`."""
    return np.load(os.path.join(directory, f"x_{n}.npy")), np.load(os.path.join(directory, f"y_{n}.npy"))
