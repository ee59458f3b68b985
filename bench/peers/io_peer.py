"""The work of bench/io_bench.cpp in NumPy: a 10000 x 10 point cloud written and read as text
(numpy.savetxt with a round-trip format, numpy.loadtxt) and as .npy (numpy.save, numpy.load).
Prints JSON {name: median seconds}. Run with /usr/bin/python3 (Debian's NumPy)."""
import json
import os
import tempfile
import timeit

import numpy as np


def median_time(fn, repeat=7):
    fn()  # warm up
    number = max(1, int(0.2 / max(timeit.timeit(fn, number=1), 1e-6)))
    times = sorted(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))
    return times[len(times) // 2]


def main():
    x = np.random.default_rng(1).standard_normal((10000, 10))
    with tempfile.TemporaryDirectory(prefix="odyn_peer_io_") as d:
        print(json.dumps(run(x, d)))


def run(x, d):
    txt, npy = os.path.join(d, "r.txt"), os.path.join(d, "r.npy")
    np.savetxt(txt, x, fmt="%.17g")
    np.save(npy, x)
    return {
        "WriteText": median_time(lambda: np.savetxt(os.path.join(d, "w.txt"), x, fmt="%.17g")),
        "ReadText": median_time(lambda: np.loadtxt(txt)),
        "WriteNpy": median_time(lambda: np.save(os.path.join(d, "w.npy"), x)),
        "ReadNpy": median_time(lambda: np.load(npy)),
    }


if __name__ == "__main__":
    main()
