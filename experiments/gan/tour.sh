#!/usr/bin/env bash
# The GAN tour: tour.sh BIN_DIR OUT_DIR. A short CPU run of GAN-QP on the 25-Gaussian grid (the
# PacGAN protocol), its evaluation (modes covered, % high-quality samples, reverse KL, exact W2)
# and its sample plot OUT_DIR/grid_gan_qp/samples/eval.png; then MEG (the energy loss with the
# entropy term) on the same grid, evaluated as generated and after 20 steps of latent MALA on its
# energy (docs/models.md). An existing run is resumed, a finished one only evaluated again.
set -euo pipefail
bin=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
iterations=${GAN_TOUR_ITERATIONS:-5000}
run="$out/grid_gan_qp"
mkdir -p "$out"
"$bin/odyn" train "$root/experiments/gan/grid_gan_qp.toml" --out "$run" --iterations "$iterations" --resume
"$bin/odyn" eval "$run"
echo "samples: $run/samples/eval.png"
meg="$out/grid_meg"
"$bin/odyn" train "$root/experiments/gan/grid_meg.toml" --out "$meg" --iterations "${MEG_TOUR_ITERATIONS:-3000}" --resume
"$bin/odyn" eval "$meg" --refine-steps 20 --step-size 0.01
echo "samples: $meg/samples/eval.png, after MALA: $meg/samples/eval-refined.png"
