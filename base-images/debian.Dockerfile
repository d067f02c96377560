# Stand-in for debian:trixie-slim: a minbase debootstrap (build.sh), one tarball per architecture.
FROM scratch
ARG TARGETARCH
ADD rootfs-${TARGETARCH}.tar /
CMD ["bash"]
