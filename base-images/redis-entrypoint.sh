#!/bin/sh
# What the official image's entrypoint does, for the stand-in:
# - `docker run IMAGE --appendonly yes` (or a .conf file first) means redis-server with those;
# - started as root, it hands /data to redis and drops to that user;
# - protected mode off: Debian's redis-server would refuse other containers when no password is
#   set, and the official build turns it off (the network is the boundary). It goes last because
#   redis-server wants a config file, if any, as its first argument.
set -e
case "$1" in -* | *.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = redis-server ]; then
  # The official image keeps files private to redis unless a umask was set on purpose.
  [ "$(umask)" != 0022 ] || umask 0077
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
