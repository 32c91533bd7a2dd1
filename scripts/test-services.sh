#!/usr/bin/env bash
# Makes sure a Redis answers for the tests (TEST_REDIS_URL, else 127.0.0.1:6379); starts one if not.
set -euo pipefail
url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
if command -v redis-cli >/dev/null && redis-cli -u "$url" ping >/dev/null 2>&1; then exit 0; fi
if [ -z "${TEST_REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
  dir=$(mktemp -d)
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log"
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && exit 0; sleep 0.1; done
fi
echo "no Redis answers at $url" >&2
exit 1
