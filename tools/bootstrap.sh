#!/usr/bin/env bash
# Fetch or build every real component into $GOVOPS_CACHE (default ~/.cache/govops), keyed by version.
# Usage: tools/bootstrap.sh [component ...]     (no argument: all of them)
# Each component script under tools/components/ is idempotent: a re-run with the cache warm is a no-op.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
set -a; source "$here/versions.env"; set +a
export GOVOPS_CACHE="${GOVOPS_CACHE:-$HOME/.cache/govops}"
mkdir -p "$GOVOPS_CACHE/logs"
all=(debian targets keycloak kubernetes kubectl kwok pulumi pulumi-kubernetes lab-images netpol-analyzer)
components=("$@"); [ ${#components[@]} -eq 0 ] && components=("${all[@]}")
n=${#components[@]}; i=0; failed=()
for c in "${components[@]}"; do
  i=$((i + 1))
  script="$here/components/$c.sh"
  if [ ! -f "$script" ]; then echo "[$i/$n] $c: unknown component (have: ${all[*]})"; exit 2; fi
  log="$GOVOPS_CACHE/logs/$c.log"
  start=$(date +%s)
  printf '[%d/%d] %-18s ' "$i" "$n" "$c"
  if out=$(bash "$script" >"$log" 2>&1; echo "rc=$?"); [ "${out##*rc=}" = "0" ]; then
    summary=$(grep '^RESULT ' "$log" | tail -1 | cut -d' ' -f2-)
    echo "ok $(( $(date +%s) - start ))s ${summary}"
  else
    echo "FAILED after $(( $(date +%s) - start ))s; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/      /'
    failed+=("$c")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "bootstrap: ${#failed[@]} component(s) failed: ${failed[*]}. Fix the step above, then re-run: make tools"
  exit 1
fi
