#!/usr/bin/python3
"""Reference iterates of torch.optim for tests/dynamics/optimizers_test.cpp.

30 steps of each optimizer on the Rosenbrock function (a = 1, b = 100) from (-1.2, 1) in float64;
prints the final point of each configuration with 17 significant digits.
Run with Debian's interpreter: /usr/bin/python3 tests/dynamics/torch_optim_reference.py
"""
import torch

CONFIGS = [
    ("sgd", torch.optim.SGD, dict(lr=1e-3)),
    ("momentum", torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
    ("momentum-damped", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("nesterov", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True)),
    ("adagrad", torch.optim.Adagrad, dict(lr=0.1)),
    ("adagrad-options", torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("rmsprop", torch.optim.RMSprop, dict(lr=0.01)),
    ("rmsprop-centered", torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    ("adam", torch.optim.Adam, dict(lr=0.01)),
    ("adam-amsgrad", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.01)),
    ("adamw", torch.optim.AdamW, dict(lr=0.01)),
    ("adamw-amsgrad", torch.optim.AdamW, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
]


def rosenbrock(p):
    return 100.0 * (p[1] - p[0] ** 2) ** 2 + (1.0 - p[0]) ** 2


for name, cls, kw in CONFIGS:
    p = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kw)
    for _ in range(30):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
    x = p.detach().tolist()
    print(f'{{"{name}", {{{x[0]:.17g}, {x[1]:.17g}}}}},')
