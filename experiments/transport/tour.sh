#!/usr/bin/env bash
# The transport tour: tour.sh BIN_DIR OUT_DIR. Draws two Gaussian samples of 1000 points, runs
# every method of `odyn transport` on them (JSON in OUT_DIR/<method>.json), then the bias
# experiment against the Gaussian closed forms (OUT_DIR/bias.csv, bias.png).
set -euo pipefail
bin=$1
out=$2
mkdir -p "$out"
"$bin/odyn_exp_transport" clouds --n 1000 --seed 1 --out "$out"
p="$out/p.npy"
q="$out/q.npy"
status=0
printf '\n| method | value | seconds |\n|---|---|---|\n'
for method in exact sinkhorn sinkhorn-div sliced gaussian frechet mmd knn-kl wdiv qpdiv; do
  extra=()
  case $method in
    sinkhorn | sinkhorn-div) extra=(--eps 0.05) ;;
    mmd) extra=(--permutations 200) ;;
  esac
  if "$bin/odyn" transport "$p" "$q" --method "$method" "${extra[@]}" --json >"$out/$method.json" 2>"$out/$method.err"; then
    /usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print("| %s | %.6g | %.3g |" % (j["method"], j["value"], j["wall_seconds"]))' "$out/$method.json"
  else
    echo "| $method | failed: $(cat "$out/$method.err") | |"
    status=1
  fi
done
echo
"$bin/odyn_exp_transport" bias --sizes 100 300 1000 --seeds 3 --out "$out" || status=1
exit $status
