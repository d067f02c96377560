#!/bin/sh
# Prints the Redis primary that the Sentinels in SENTINEL_HOSTS name, or nothing if none answers.
# Used by redis.sh and sentinel.sh before they start (sourced, so it is a function).
# Each Sentinel is asked for its view and the one with the newest configuration epoch wins: a
# Sentinel that just came back with an old view (its node was down during a failover) loses
# to the ones that elected the successor. Needs REDIS_PASSWORD, SENTINEL_HOSTS, PRIMARY_NAME.
current_primary() {
  for sentinel in $SENTINEL_HOSTS; do
    # `timeout`: a Sentinel whose node is gone must not stall the start.
    REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli --raw -h "$sentinel" -p 26379 \
      sentinel master "$PRIMARY_NAME" 2>/dev/null |
      awk 'NR % 2 { field = $0; next }
           field == "ip" { host = $0 }
           field == "config-epoch" { epoch = $0 }
           END { if (host != "" && epoch ~ /^[0-9]+$/) print epoch, host }'
  done | sort -n | tail -n 1 | cut -d ' ' -f 2
}
