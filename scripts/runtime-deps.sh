#!/usr/bin/env bash
# Installs the Debian packages the running system needs (`make up`), when missing and we may: today
# bubblewrap, the sandbox that verifies fixes. Without root it says what is missing and goes on:
# SmartWorker then runs without verifying fixes (/health names the sandbox as unavailable).
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${need[*]}; fixes cannot be verified until it is installed (as root: apt-get install -y ${need[*]})" >&2
  exit 0
fi
echo "installing ${need[*]} (apt)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's own output only when something fails: its index warnings are no news to someone starting an app.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "could not install ${need[*]}: SmartWorker starts without verifying fixes" >&2
  exit 0
fi
command -v bwrap >/dev/null || echo "bubblewrap is installed but bwrap is not on PATH: fixes cannot be verified" >&2
