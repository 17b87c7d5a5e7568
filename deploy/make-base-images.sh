#!/bin/sh
# Makes sure the base images the Containerfile builds on exist in local podman storage:
# debian:bookworm (build stage) and debian:bookworm-slim (runtime stage).
#
# With a registry in reach the real images are pulled. Without one (as on the project's CI
# machines) a minimal Debian root filesystem is made with debootstrap from the machine's own apt
# mirror and imported under both names, so `FROM debian:bookworm-slim` builds unchanged.
# Idempotent: images already present are left alone.
#
# Usage: deploy/make-base-images.sh        (as root; needs podman, and debootstrap when offline)
# Env:   TOPICWIRE_PULL_TIMEOUT  seconds to try a pull before building locally (default 30; 0 skips)
#        TOPICWIRE_DEBIAN_MIRROR mirror for debootstrap (default: the first URI in the apt sources)
set -eu

PULL_TIMEOUT="${TOPICWIRE_PULL_TIMEOUT:-30}"

log() { echo "make-base-images: $*" >&2; }

missing=""
for image in debian:bookworm debian:bookworm-slim; do
  if podman image exists "$image"; then
    log "$image is present"
  else
    missing="$missing $image"
  fi
done
[ -z "$missing" ] && exit 0

still_missing=""
for image in $missing; do
  if [ "$PULL_TIMEOUT" -gt 0 ] &&
      timeout "$PULL_TIMEOUT" podman pull -q "docker.io/library/$image" >/dev/null 2>&1; then
    podman tag "docker.io/library/$image" "$image"
    log "pulled $image"
  else
    still_missing="$still_missing $image"
  fi
done
[ -z "$still_missing" ] && exit 0

mirror="${TOPICWIRE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 sources (Debian 12 default) first, then the one-line format.
  mirror="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources \
      2>/dev/null | grep -v security | head -n1 || true)"
fi
if [ -z "$mirror" ]; then
  mirror="$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security |
      head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
  log "cannot pull$still_missing and debootstrap is missing: apt-get install debootstrap"
  exit 1
fi

rootfs="$(mktemp -d /var/tmp/topicwire-bookworm.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "cannot pull$still_missing; making a minimal bookworm from $mirror (about 30 s)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
# The same trims the official slim image makes, so the runtime stage starts small.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
for image in $still_missing; do
  tar -C "$rootfs" -c . | podman import -q - "$image" >/dev/null
  log "imported $image (localhost/$image)"
done
