#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing and we may install them.
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v redis-server >/dev/null || need+=(redis-server)
command -v node >/dev/null || need+=(nodejs npm)
command -v git >/dev/null || need+=(git)  # fix delivery: branches, patches, apply (tests use real git)
# Debian's chromium for the dashboard's browser tests (Playwright drives it; its own downloads are not used).
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${need[*]} (install them with apt as root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
