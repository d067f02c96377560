#!/bin/sh
# Debian's redis-server starts in protected mode, refusing other containers when no password is
# set; the official image turns it off, and so does this stand-in (the network is the boundary).
# The option goes last because redis-server wants a config file, if any, as its first argument.
# As in the official image, `docker run IMAGE --appendonly yes` means redis-server with options.
case "$1" in -*) set -- redis-server "$@" ;; esac
if [ "$1" = "redis-server" ]; then
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
