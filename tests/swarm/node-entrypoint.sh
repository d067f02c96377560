#!/bin/sh
# Starts the inner Docker engine. The node runs without --privileged (this sandbox refuses it),
# so it does here what --privileged would have done: make /sys and the cgroup v1 hierarchies
# writable (a plain `remount,rw` is refused; `remount,bind,rw` works).
mount -o remount,bind,rw /sys 2>/dev/null || true
for hierarchy in /sys/fs/cgroup/*; do
  mount -o remount,bind,rw "$hierarchy" 2>/dev/null || true
done
rm -f /var/run/docker.pid # left behind when the node container is restarted
exec dockerd --host=unix:///var/run/docker.sock "$@"
