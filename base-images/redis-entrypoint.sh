#!/bin/sh
# Debian's redis-server starts in protected mode, refusing other containers when no password is
# set; the official image turns it off, and so does this stand-in (the network is the boundary).
# The option goes last because redis-server wants a config file, if any, as its first argument.
if [ "$1" = "redis-server" ]; then
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
