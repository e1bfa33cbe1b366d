#!/usr/bin/env bash
# Make sure the Redis that REDIS_URL names answers; start a local one when it points at this
# machine and nothing listens there. Used by `make run`, `make test` and .ci/run.
# Redis holds only short-lived fleet counters (the hourly captcha budget, rate limits, breaker
# state): nothing is saved to disk, so a restart costs at most one hour's budget count.
set -o errexit -o pipefail -o nounset

url="${REDIS_URL:-}"
if [[ -z "$url" && -f .env ]]; then
  url="$(sed -n 's/^[[:space:]]*REDIS_URL[[:space:]]*=[[:space:]]*//p' .env | tail -n 1 | tr -d "'\"")"
fi
url="${url:-redis://127.0.0.1:6379/0}"
hostport="${url#*://}"
hostport="${hostport##*@}"
hostport="${hostport%%/*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[[ "$port" == "$hostport" ]] && port=6379
host="${host:-127.0.0.1}"

reachable() { (exec 3<> "/dev/tcp/$host/$port") 2> /dev/null; }

if reachable; then exit 0; fi
if [[ "$host" != "127.0.0.1" && "$host" != "localhost" ]]; then
  echo "ERROR: Redis is not reachable at $host:$port (REDIS_URL); start it there or fix REDIS_URL." >&2
  exit 1
fi
if ! command -v redis-server > /dev/null; then
  echo "ERROR: Redis is not running on $host:$port and redis-server is not installed (apt-get install redis-server)." >&2
  exit 1
fi
mkdir -p var
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
  --dir "$PWD/var" --logfile "$PWD/var/redis.log" > /dev/null
for _ in $(seq 1 50); do
  if reachable; then
    echo "started redis-server on $host:$port (log: var/redis.log)"
    exit 0
  fi
  sleep 0.1
done
echo "ERROR: redis-server did not come up on $host:$port; see var/redis.log" >&2
exit 1
