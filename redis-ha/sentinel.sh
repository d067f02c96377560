#!/bin/sh
# Starts one Redis Sentinel of three (stack.yml, k8s). Its config file lives on a volume:
# Sentinel rewrites it with what it learns (the current primary, replicas, peers, epochs) and
# must find that again after a restart. A first start writes it from the current primary the
# other Sentinels name (or FIRST_PRIMARY on the very first deploy).
# Environment: SENTINEL_HOST (this Sentinel's stable name), SENTINEL_HOSTS, PRIMARY_NAME,
# FIRST_PRIMARY, REDIS_PASSWORD_FILE.
set -eu
REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE")
# shellcheck disable=SC1091 # mounted next to this script (stack.yml configs, k8s ConfigMap)
. /redis-ha/current-primary.sh
config=/data/sentinel.conf
umask 0077 # the file holds the password

if [ ! -s "$config" ]; then
  primary=$(current_primary)
  # down-after-milliseconds 5000: a failover completes in about 10 s. It is safe against false
  # failovers on a busy machine because two Sentinels on different nodes must each miss every
  # PING answer for 5 s (Redis answers PING from memory, also during a fork for AOF rewrites),
  # and a Sentinel whose own timer stalls goes into TILT mode instead of acting.
  cat >"$config" <<CONFIG
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $SENTINEL_HOST
sentinel monitor $PRIMARY_NAME ${primary:-$FIRST_PRIMARY} 6379 2
sentinel down-after-milliseconds $PRIMARY_NAME 5000
sentinel failover-timeout $PRIMARY_NAME 60000
sentinel parallel-syncs $PRIMARY_NAME 1
CONFIG
fi
# The passwords come from the secret at every start (a rotated secret applies on restart).
# Sentinel's CONFIG REWRITE also saves the password as a `user default ... #<hash>` line, which
# Redis applies after requirepass: it goes too, or the old password would stay in force.
sed -i -e '/^requirepass /d' -e '/^user default /d' -e '/^sentinel auth-pass /d' \
  -e '/^sentinel sentinel-pass /d' "$config"
cat >>"$config" <<CONFIG
requirepass $REDIS_PASSWORD
sentinel auth-pass $PRIMARY_NAME $REDIS_PASSWORD
sentinel sentinel-pass $REDIS_PASSWORD
CONFIG

# With resolve-hostnames, Sentinel refuses a config whose primary name does not resolve yet
# (its task is still starting): wait for it, boundedly; the orchestrator restarts us otherwise.
primary=$(awk '$2 == "monitor" { print $4 }' "$config")
for _ in $(seq 60); do
  getent hosts "$primary" >/dev/null && break
  sleep 1
done
exec redis-server "$config" --sentinel
