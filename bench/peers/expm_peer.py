"""The work of bench/expm_bench.cpp in SciPy and PyTorch: scipy.linalg.expm and
torch.linalg.matrix_exp (1 thread) on the same matrices (case_<tag>_A.npy in the directory given
as argv[1]), timed, with relative 1-norm errors against the double-double reference
case_<tag>_hi.npy + case_<tag>_lo.npy, and their errors on the random ensemble (ensemble.json).
With a second argument, the expm accuracy suite file, also reports SciPy's and PyTorch's errors on
each suite matrix against its 50-digit exponential. Prints JSON. Run with /usr/bin/python3."""
import json
import os
import sys
import timeit
from fractions import Fraction

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def median_time(fn, repeat=7):
    fn()
    number = max(1, int(0.2 / max(timeit.timeit(fn, number=1), 1e-7)))
    times = sorted(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))
    return times[len(times) // 2]


def rel_error(x, hi, lo):
    """Relative 1-norm error of x against the double-double reference hi + lo."""
    return float(np.abs((x - hi) - lo).sum(axis=0).max() / np.abs(hi).sum(axis=0).max())


def load(directory, stem):
    return (np.load(os.path.join(directory, f"{stem}_{part}.npy")) for part in ("A", "hi", "lo"))


def bench(directory):
    cases = json.load(open(os.path.join(directory, "cases.json")))
    out = {}
    for c in cases:
        a, hi, lo = load(directory, f"case_{c['tag']}")
        ta = torch.from_numpy(a)
        out[c["tag"]] = {
            "scipy_time": median_time(lambda: scipy.linalg.expm(a)),
            "torch_time": median_time(lambda: torch.linalg.matrix_exp(ta)),
            "scipy_error": rel_error(scipy.linalg.expm(a), hi, lo),
            "torch_error": rel_error(torch.linalg.matrix_exp(ta).numpy(), hi, lo),
        }
    return out


def ensemble(directory):
    """SciPy's and PyTorch's relative 1-norm errors on the random ensemble written by the benchmark,
    against the double-double references hi + lo."""
    out = {}
    for g in json.load(open(os.path.join(directory, "ensemble.json"))):
        n, group = g["n"], g["group"]
        a, hi, lo = load(directory, f"ens_{group}")
        errors = {"scipy_error": [], "torch_error": []}
        for t in range(a.shape[0] // n):
            rows = slice(t * n, (t + 1) * n)
            for key, x in (("scipy_error", scipy.linalg.expm(a[rows])),
                           ("torch_error", torch.linalg.matrix_exp(torch.from_numpy(a[rows])).numpy())):
                errors[key].append(rel_error(x, hi[rows], lo[rows]))
        out[group] = errors
    return out


def read_suite(path):
    """Yields (name, A, exp(A)) with exp(A) as exact fractions of its 50-digit decimals."""
    lines = [l.rstrip("\n") for l in open(path) if not l.startswith("#")]
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        name = lines[i][5:]
        n, kind = lines[i + 2].split()[1:]
        n, cplx = int(n), kind == "complex"
        i += 4

        def parse(row, exact):
            conv = Fraction if exact else float
            v = [conv(x) for x in row.split()]
            return [complex(float(v[2 * j]), float(v[2 * j + 1])) if not exact else (v[2 * j], v[2 * j + 1])
                    for j in range(n)] if cplx else v

        a = np.array([parse(lines[i + r], False) for r in range(n)])
        i += n + 1
        ref = [parse(lines[i + r], True) for r in range(n)]
        i += n + 1
        yield name, a, ref, cplx


def exact_error(x, ref, cplx):
    """Relative 1-norm error of a computed x against the exact decimals of ref."""
    n = len(ref)
    def mag(v):
        return abs(complex(float(v[0]), float(v[1]))) if cplx else abs(float(v))
    def diff(xv, rv):
        if cplx:
            return abs(complex(float(Fraction(xv.real) - rv[0]), float(Fraction(xv.imag) - rv[1])))
        return abs(float(Fraction(float(xv)) - rv))
    num = max(sum(diff(x[i][j], ref[i][j]) for i in range(n)) for j in range(n))
    den = max(sum(mag(ref[i][j]) for i in range(n)) for j in range(n))
    return num / den


def suite(path):
    out = {}
    for name, a, ref, cplx in read_suite(path):
        out[name] = {
            "scipy_error": exact_error(scipy.linalg.expm(a), ref, cplx),
            "torch_error": exact_error(torch.linalg.matrix_exp(torch.from_numpy(a)).numpy(), ref, cplx),
        }
    return out


if __name__ == "__main__":
    result = {"bench": bench(sys.argv[1]), "ensemble": ensemble(sys.argv[1])}
    if len(sys.argv) > 2:
        result["suite"] = suite(sys.argv[2])
    print(json.dumps(result))
