#!/usr/bin/env bash
# `pip install` that shows it is working without printing every package: one line at the start,
# one every 10 s naming the package pip is on, one at the end (the whole pip log on failure).
# Usage: scripts/install.sh PIP REQUIREMENT WHAT
set -euo pipefail
pip=$1 requirement=$2 what=$3
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "installing $what (first run: a minute or two)"
start=$(date +%s)
"$pip" install --progress-bar off -e "$requirement" >"$log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null || break
  at=$(grep -oE '^(Collecting [^ ]+|Processing [^ ]+|Building wheels|Installing collected packages)' "$log" | tail -1 || true)
  at=${at/Installing collected packages/installing the packages}
  at=${at/Processing */reading local wheels}
  echo "  ... $(( $(date +%s) - start )) s${at:+: $at}"
done
if ! wait "$pid"; then
  cat "$log" >&2
  echo "pip install failed (its log is above)" >&2
  exit 1
fi
echo "installed in $(( $(date +%s) - start )) s"
