#!/bin/sh
# Starts one Redis of the primary + replicas set (stack.yml, k8s): as a replica of the primary
# the Sentinels name, or as that primary. Sentinel alone decides and promotes; this script only
# makes sure that a Redis coming back never serves its possibly stale data as a second primary.
# Environment: REDIS_HOST (this Redis' stable name), SENTINEL_HOSTS, PRIMARY_NAME, FIRST_PRIMARY
# (the name that starts as primary on the very first deploy); the password comes from the
# Docker/Kubernetes secret file REDIS_PASSWORD_FILE and goes to redis-server through stdin, so
# it shows neither in `docker inspect` nor in ps.
set -eu
REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE")
# shellcheck disable=SC1091 # mounted next to this script (stack.yml configs, k8s ConfigMap)
. /redis-ha/current-primary.sh

primary=$(current_primary)
if [ -z "$primary" ]; then
  if [ -e /data/appendonlydir ]; then
    # Data from an earlier run and nobody to say whether it is still the newest: wait (the
    # orchestrator restarts this) rather than risk becoming a primary with stale data.
    echo "redis.sh: no Sentinel answered and /data holds data; not starting" >&2
    exit 1
  fi
  primary=$FIRST_PRIMARY # the first deploy: nothing written yet, anywhere
fi
replicaof=""
if [ "$primary" != "$REDIS_HOST" ]; then
  replicaof="replicaof $primary 6379"
fi
echo "redis.sh: $REDIS_HOST starts as ${replicaof:-the primary}"

# replica-announce-ip: the primary lists its replicas (and Sentinel finds them) by stable name,
# not by a container address that changes when the task is replaced.
exec redis-server - <<CONFIG
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
replica-announce-ip $REDIS_HOST
appendonly yes
appendfsync everysec
$replicaof
CONFIG
