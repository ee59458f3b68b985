"""The work of one odyn::gan training iteration in PyTorch: the critic steps, then one generator step,
with the same models, losses and optimizer, timed on random data of the right shape, one thread.

Models (odyn::gan::ModelSpec, kind mlp / dcgan):
  mlp    the toy configurations (experiments/gan/grid_*.toml): generator z(2) -> 128 -> 128 -> 128 -> 2
         (ReLU), critic 2 -> 128 -> 128 -> 128 -> 1 (LeakyReLU 0.2); batch 64.
  dcgan  generator z(128) -> Linear(128 -> 64*7*7) -> (64, 7, 7) -> BN ReLU -> ConvT(64 -> 32, 4, 2, 1)
         -> BN ReLU -> ConvT(32 -> 1, 4, 2, 1) -> tanh; critic Conv(1 -> 32, 4, 2, 1) LReLU(0.2) ->
         Conv(32 -> 64, 4, 2, 1) LReLU(0.2) -> Flatten -> Linear(3136 -> 1); batch 64.
Both optimizers Adam(1e-4, betas (0.5, 0.9)). The critic scores real samples high:
  wgan_gp   critic mean D(x_f) - mean D(x_r) + lambda mean (|grad D(x^)| - 1)^2 at x^ = x_r + a (x_f - x_r),
            a ~ U(0, 1) per sample, lambda = 10; generator -mean D(G(z)).
  wgan_div  critic mean D(x_f) - mean D(x_r) + k mean_{x in [x_r; x_f]} |grad_x D(x)|^p, k = 2, p = 6,
            per-sample norms over the raw real and raw fake batches pooled; generator -mean D(G(z)).
  gan_qp    Delta = D(x_r) - D(x_f), d = mean |x_r - x_f| per sample (L1, mean over elements), critic
            mean(-Delta + Delta^2 / (2 lambda d)), lambda = 10; generator mean(D(x_r) - D(x_f)).
  sgan      critic BCE-with-logits (real 1, fake 0); generator non-saturating BCE(D(G(z)), 1).
All gradient penalties are differentiated through (create_graph=True: a double backward).
Critic steps per iteration: mlp 2 (sgan 1), dcgan wgan_div 1 and gan_qp 2 (--critic-steps overrides).
Each critic step draws a fresh real batch and a fresh fake batch (generator without grad); the
generator step draws a fresh fake batch (and, for gan_qp, a real batch) with the critic's parameters
frozen. Real batches are rows of a fixed random pool, as a sampler would give them.

Cases: mlp_wgan_gp, mlp_wgan_div, mlp_gan_qp, mlp_sgan, dcgan_wgan_div, dcgan_gan_qp.
Prints one JSON line per case: {"case", "seconds_per_iteration" (median over --repeats timings of
--iterations iterations each, after warm-up), "critic_steps", "batch", "threads", "torch"}.
Run with /usr/bin/python3 (Debian's torch)."""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)

CASES = ("mlp_wgan_gp", "mlp_wgan_div", "mlp_gan_qp", "mlp_sgan", "dcgan_wgan_div", "dcgan_gan_qp")
# As in experiments/gan/*.toml: (model, loss) -> critic steps per generator step.
CRITIC_STEPS = {("mlp", "wgan_gp"): 2, ("mlp", "wgan_div"): 2, ("mlp", "gan_qp"): 2, ("mlp", "sgan"): 1,
                ("dcgan", "wgan_div"): 1, ("dcgan", "gan_qp"): 2}
LAMBDA, K, P = 10.0, 2.0, 6.0


def mlp_models():
    """(generator, critic, latent dim, batch, sample shape) of the 2-D MLP case."""
    width = 128
    generator = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                              nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))
    critic = nn.Sequential(nn.Linear(2, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                           nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))
    return generator, critic, 2, 64, (2,)


def dcgan_models():
    """(generator, critic, latent dim, batch, sample shape) of the MNIST-size DCGAN case, base width
    C = 32 as in experiments/gan/mnist_*.toml."""
    latent, c = 128, 32
    generator = nn.Sequential(
        nn.Linear(latent, 2 * c * 7 * 7), nn.Unflatten(1, (2 * c, 7, 7)), nn.BatchNorm2d(2 * c), nn.ReLU(),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
        nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh())
    critic = nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * c * 7 * 7, 1))
    return generator, critic, latent, 64, (1, 28, 28)


def per_sample_grad_norms(critic, x):
    """|grad_x D(x)| per sample, kept in the graph (create_graph) so the penalty can be differentiated."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def critic_loss(loss, critic, real, fake):
    d_real = critic(real).flatten()
    d_fake = critic(fake).flatten()
    if loss == "wgan_gp":
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1))
        interpolates = real + alpha * (fake - real)
        penalty = (per_sample_grad_norms(critic, interpolates) - 1).square().mean()
        return d_fake.mean() - d_real.mean() + LAMBDA * penalty
    if loss == "wgan_div":
        penalty = per_sample_grad_norms(critic, torch.cat([real, fake], 0)).pow(P).mean()
        return d_fake.mean() - d_real.mean() + K * penalty
    if loss == "gan_qp":
        delta = d_real - d_fake
        distance = (real - fake).abs().flatten(1).mean(1)
        return (-delta + delta.square() / (2 * LAMBDA * distance)).mean()
    if loss == "sgan":
        return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    raise ValueError(loss)


def generator_loss(loss, critic, real, fake):
    d_fake = critic(fake).flatten()
    if loss == "gan_qp":
        return (critic(real).flatten() - d_fake).mean()
    if loss == "sgan":
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    return -d_fake.mean()


def make_iteration(case, critic_steps):
    """A function that runs one training iteration of `case`, and its critic step count."""
    model, loss = case.split("_", 1)
    torch.manual_seed(0)
    generator, critic, latent, batch, shape = mlp_models() if model == "mlp" else dcgan_models()
    steps = critic_steps or CRITIC_STEPS[(model, loss)]
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    c_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    pool = torch.randn((16 * batch,) + shape)
    if model == "dcgan":
        pool = pool.clamp(-1, 1)

    def real_batch():
        return pool[torch.randint(pool.shape[0], (batch,))]

    def iteration():
        for _ in range(steps):
            real = real_batch()
            with torch.no_grad():
                fake = generator(torch.randn(batch, latent))
            c_opt.zero_grad(set_to_none=True)
            critic_loss(loss, critic, real, fake).backward()
            c_opt.step()
        critic.requires_grad_(False)
        fake = generator(torch.randn(batch, latent))
        g_opt.zero_grad(set_to_none=True)
        generator_loss(loss, critic, real_batch(), fake).backward()
        g_opt.step()
        critic.requires_grad_(True)

    return iteration, steps, batch


def seconds_per_iteration(iteration, iterations, repeats, warmup):
    for _ in range(warmup):
        iteration()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            iteration()
        times.append((time.perf_counter() - start) / iterations)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated cases to run (default: all): " + ", ".join(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="timings per case; the median is reported (default 5)")
    parser.add_argument("--iterations", type=int, default=10, help="iterations per timing (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    parser.add_argument("--critic-steps", type=int, default=0,
                        help="critic steps per iteration for every case "
                             "(default: mlp 2, sgan 1; dcgan wgan_div 1, gan_qp 2)")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error("unknown case(s): " + ", ".join(unknown) + "; known: " + ", ".join(CASES))
    if args.repeats < 1 or args.iterations < 1 or args.warmup < 0 or args.critic_steps < 0:
        parser.error("--repeats and --iterations must be >= 1, --warmup and --critic-steps >= 0")
    for case in cases:
        iteration, steps, batch = make_iteration(case, args.critic_steps)
        seconds = seconds_per_iteration(iteration, args.iterations, args.repeats, args.warmup)
        print(json.dumps({"case": case, "seconds_per_iteration": seconds, "critic_steps": steps, "batch": batch,
                          "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
