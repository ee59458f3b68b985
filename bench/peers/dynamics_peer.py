"""The work of bench/dynamics_bench.cpp's BM_Step in torch.optim: SGD (plain, momentum 0.9, Nesterov),
Adagrad, RMSprop, Adam and AdamW with lr 1e-3 on L = ½‖x‖² in R^d, d in {2, 10, 1000}, float64, one
thread. A step assigns the gradient (p.grad.copy_(p): no autograd) and calls opt.step(); a timed burst
runs the benchmark's number of steps from x0 with a fresh optimizer, made untimed. Prints JSON: seconds
per step keyed like the benchmark ("adam/2") for torch's default (foreach=None) and for foreach=True,
the implementation the default ran, and at d = 2 the aten ops per step and the time per step of plain
SGD's two ops written out in Python (no torch.optim) and of the gradient copy alone. Run with
/usr/bin/python3."""
import json
import os
import sys
import time
import timeit

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

torch.set_num_threads(1)

LR = 1e-3
DIMS = (2, 10, 1000)
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
}


def burst_steps(d):
    """Steps per burst, as in dynamics_bench.cpp."""
    return min(max(100000 // d, 100), 1000)


def median_time(fn, repeat=7):
    fn()
    number = max(1, int(0.2 / max(timeit.timeit(fn, number=1), 1e-7)))
    times = sorted(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))
    return times[len(times) // 2]


def optimizer(name, d, foreach=None):
    """(opt, x, g, x0): the optimizer on one float64 parameter, its value and gradient as plain tensors."""
    cls, kwargs = OPTIMIZERS[name]
    x0 = torch.linspace(1.0, 2.0, d, dtype=torch.float64)
    p = x0.clone().requires_grad_(True)
    p.grad = torch.zeros_like(x0)
    return cls([p], lr=LR, foreach=foreach, **kwargs), p.detach(), p.grad, x0


def step_time(name, d, foreach=None, repeat=7):
    """Median over `repeat` runs (each about 0.2 s of bursts) of the seconds per step of a burst."""
    steps = burst_steps(d)

    def burst():
        opt, x, g, _ = optimizer(name, d, foreach)
        start = time.perf_counter()
        for _ in range(steps):
            g.copy_(x)  # grad ½‖x‖² = x
            opt.step()
        return time.perf_counter() - start

    number = max(1, int(0.2 / burst()))
    times = sorted(sum(burst() for _ in range(number)) / number for _ in range(repeat))
    return times[len(times) // 2] / steps


def implementation(name):
    """The functional implementation a default step runs: 'single_tensor' (a loop over parameters) or
    'multi_tensor' (torch._foreach_* ops), found by wrapping both."""
    module = sys.modules[OPTIMIZERS[name][0].__module__]
    stem = module.__name__.rsplit(".", 1)[1]
    used = []

    def recording(fn, kind):
        def wrapper(*args, **kwargs):
            used.append(kind)
            return fn(*args, **kwargs)
        return wrapper

    saved = {}
    for kind in ("single_tensor", "multi_tensor"):
        attr = f"_{kind}_{stem}"
        saved[attr] = getattr(module, attr)
        setattr(module, attr, recording(saved[attr], kind))
    try:
        opt, x, g, _ = optimizer(name, 2)
        g.copy_(x)
        opt.step()
    finally:
        for attr, fn in saved.items():
            setattr(module, attr, fn)
    return "+".join(sorted(set(used)))


class OpRecorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def aten_ops(name, d=2):
    """The operators reaching the dispatcher in one steady-state step (gradient copy included)."""
    opt, x, g, _ = optimizer(name, d)
    for _ in range(3):
        g.copy_(x)
        opt.step()
    with OpRecorder() as recorder:
        g.copy_(x)
        opt.step()
    return recorder.ops


def main():
    steps, steps_foreach = {}, {}
    for name in OPTIMIZERS:
        for d in DIMS:
            steps[f"{name}/{d}"] = step_time(name, d)
            steps_foreach[f"{name}/{d}"] = step_time(name, d, foreach=True)
    # at d = 2: torch.optim's SGD step against its aten ops written out
    x0 = torch.linspace(1.0, 2.0, 2, dtype=torch.float64)
    x, g = x0.clone(), torch.zeros_like(x0)
    n = burst_steps(2)

    def written_out():
        x.copy_(x0)
        for _ in range(n):
            g.copy_(x)
            x.add_(g, alpha=-LR)

    def copies():
        for _ in range(n):
            g.copy_(x)

    overhead = {
        "sgd_written_out": median_time(written_out) / n,
        "gradient_copy": median_time(copies) / n,
        "aten_ops": {name: aten_ops(name) for name in OPTIMIZERS},
    }
    print(json.dumps({
        "torch": torch.__version__,
        "step": steps,
        "step_foreach": steps_foreach,
        "implementation": {name: implementation(name) for name in OPTIMIZERS},
        "d2": overhead,
    }))


if __name__ == "__main__":
    main()
