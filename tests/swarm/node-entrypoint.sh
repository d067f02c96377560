#!/bin/sh
# Starts the inner Docker engine. The node runs without --privileged (this sandbox refuses it),
# so it does here what --privileged would have done: make /sys and the cgroup v1 hierarchies
# writable (a plain `remount,rw` is refused; `remount,bind,rw` works).
mount -o remount,bind,rw /sys 2>/dev/null || true
for hierarchy in /sys/fs/cgroup/*; do
  mount -o remount,bind,rw "$hierarchy" 2>/dev/null || true
done
# Left behind when the node container is killed and started again (the HA checks do): both
# engines refuse to start while their pid file names a PID that exists in the new container.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
exec dockerd --host=unix:///var/run/docker.sock "$@"
