#!/usr/bin/env bash
# Runs the experiments of claims.txt: tour.sh ODYN OUT_DIR [ID...] (all ids when none is given).
# Each experiment's output goes to OUT_DIR/ID.txt; its CSV and PNG files to OUT_DIR.
set -euo pipefail
odyn=$1
out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
status=0
while IFS=$'\t' read -r id args; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  if [[ $# -gt 0 ]] && [[ " $* " != *" $id "* ]]; then continue; fi
  read -ra argv <<<"${args//OUT/$out}"
  echo "== $id: odyn dynamics ${argv[*]}"
  if "$odyn" dynamics "${argv[@]}" >"$out/$id.txt" 2>&1; then
    cat "$out/$id.txt"
  else
    cat "$out/$id.txt"
    echo "$id failed" >&2
    status=1
  fi
  echo
done <"$here/claims.txt"
exit $status
