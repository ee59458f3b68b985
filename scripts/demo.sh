#!/usr/bin/env bash
# The tour of odyn: runs each main job and writes a short report to <build>/demo/REPORT.md.
set -euo pipefail
build=${1:-build}
odyn="$build/bin/odyn"
out="$build/demo"
mkdir -p "$out"
report="$out/REPORT.md"

section() {  # section TITLE COMMAND...: runs the command, shows its output, adds both to the report
  local title=$1
  shift
  echo "== $title"
  echo "\$ $*"
  local status=0
  "$@" | tee "$out/last.txt" || status=$?
  {
    printf '## %s\n\n```\n$ %s\n' "$title" "$*"
    cat "$out/last.txt"
    printf '```\n\n'
  } >>"$report"
  echo
  return $status
}

printf '# odyn demo report\n\n%s, %s\n\n' "$("$odyn" --version)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$report"
status=0
section "det(exp A) = exp(tr A): random matrices, n = 50" "$odyn" verify det-exp-trace --n 50 --trials 10 || status=1
for family in normal nilpotent jordan rotation; do
  section "det(exp A) = exp(tr A): $family family, n = 20" "$odyn" verify det-exp-trace --n 20 --trials 5 --family "$family" || status=1
done
"$odyn" verify det-exp-trace --n 50 --trials 100 --json >"$out/det-exp-trace.json" || status=1
# Optimization as dynamics: one experiment per claim (experiments/dynamics/claims.txt), CSV and PNG
# files in $out/dynamics.
root=$(cd "$(dirname "$0")/.." && pwd)
section "Optimizers as integrators: orders, Dirac-GAN games, trajectories beside their flows" \
  "$root/experiments/dynamics/tour.sh" "$odyn" "$out/dynamics" || status=1
# Transport: every `odyn transport` method on two Gaussian samples, and the estimators' errors
# against the Gaussian closed forms (CSV, PNG and JSON in $out/transport).
section "Transport distances and divergences between two Gaussian samples" \
  "$root/experiments/transport/tour.sh" "$build/bin" "$out/transport" || status=1
# GANs: short GAN-QP and MEG runs on the 25-Gaussian grid with their metrics and sample plots ($out/gan).
if [[ -x "$build/bin/odyn-gan" ]]; then
  section "GAN-QP and MEG on the 25-Gaussian grid: short CPU runs, their evaluation, latent MALA" \
    "$root/experiments/gan/tour.sh" "$build/bin" "$out/gan" || status=1
fi
echo "JSON of 100 checks at n = 50: $out/det-exp-trace.json"
echo "Report: $report"
exit $status
