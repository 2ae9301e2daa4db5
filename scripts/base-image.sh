#!/usr/bin/env bash
# Makes the base image of Holodeck's Docker artifacts, holodeck/debian:bookworm-minbase: a
# minimal Debian 12 root made by debootstrap from this machine's own Debian mirror and imported
# into the local Docker engine (no image registry is needed). The .debs are built on bookworm,
# so their images must run on bookworm too. Returns at once when the image is already there.
#
#   scripts/base-image.sh            # mirror: the one apt uses here for bookworm
#   HOLODECK_DEBIAN_MIRROR=http://mirror.example/debian scripts/base-image.sh
set -euo pipefail

tag=holodeck/debian:bookworm-minbase
suite=bookworm
# Debian's client: the `docker` first on PATH may be another one.
docker=/usr/bin/docker

say() { echo "base-image: $*" >&2; }
die() {
  echo "base-image: error: $*" >&2
  exit 1
}

[[ -x $docker ]] || die "$docker is missing: apt-get install docker.io (Debian's Docker engine and client)"
if ! info=$("$docker" info 2>&1); then
  # The engine's own reason (not running, permission denied) is on the line starting "ERROR:".
  die "no Docker engine reachable ($(sed -n 's/^ERROR: //p' <<<"$info" | head -n 1)):" \
    "run as root (or in group docker) with an engine running: start Debian's docker.io as root with 'dockerd &'" \
    "(or 'systemctl start docker' where systemd runs)"
fi
if "$docker" image inspect "$tag" >/dev/null 2>&1; then
  say "$tag is there already"
  exit 0
fi
((EUID == 0)) || die "run as root: debootstrap creates device nodes and files owned by other users"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

# apt's own view of its sources, whichever format (sources.list, .list, deb822 .sources) names them.
apt_mirror() {
  # shellcheck disable=SC2016 # $(...) here is apt's format syntax, not the shell's.
  apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' |
    awk -v suite="$suite" '$2 == suite { print $1; exit }'
}
mirror=${HOLODECK_DEBIAN_MIRROR:-$(apt_mirror)}
[[ -n $mirror ]] ||
  die "apt has no source for $suite here: name a Debian mirror with HOLODECK_DEBIAN_MIRROR=http://deb.debian.org/debian"
# apt in the image needs CA certificates to fetch Depends from an https mirror.
include=()
[[ $mirror == https:* ]] && include=(--include=ca-certificates)

scratch=$(mktemp -d /var/tmp/holodeck-base-image.XXXXXX)
# --one-file-system: never follow a mount a failed debootstrap might have left inside the root.
trap 'rm -rf --one-file-system "$scratch"' EXIT

say "debootstrap --variant=minbase $suite from $mirror (about half a minute)"
if ! debootstrap --variant=minbase "${include[@]}" "$suite" "$scratch/root" "$mirror" >"$scratch/debootstrap.log" 2>&1; then
  tail -n 20 "$scratch/debootstrap.log" >&2
  die "debootstrap failed (last lines above)"
fi

# debootstrap names only "$suite main": images built on this base must also get security fixes.
security=$(suite=$suite-security apt_mirror)
rm -f "$scratch/root/etc/apt/sources.list"
cat >"$scratch/root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${security:-http://deb.debian.org/debian-security}
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

# debootstrap leaves the .debs it installed and the index it read: ~80 MB no image needs.
rm -rf "$scratch"/root/var/cache/apt/archives/*.deb "$scratch"/root/var/lib/apt/lists/*

say "importing $scratch/root as $tag"
tar -C "$scratch/root" --numeric-owner -c . | "$docker" import - "$tag" >/dev/null

say "$tag made in ${SECONDS}s: $("$docker" image inspect --format '{{.Size}}' "$tag") bytes"
