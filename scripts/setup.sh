#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian 12 machine, and returns at once
# when everything is already there. Called by `npm run demo` and `npm test`; arguments name
# further Debian packages (the benchmark's dh-virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."

# git, Debian's python3 with pip and the pip/setuptools/wheel wheels (offline builds), python3-dev
# and gcc (the Salt virtualenv builds timelib from source), PyYAML (user data read as cloud-init
# reads it), dpkg-dev and lintian (packaging), the linter for shell scripts, systemd
# (systemd-analyze verify), util-linux (unshare, setpriv), cloud-init (schema validation of user
# data), nftables, curl and iproute2 (the metadata guard, tried in a network namespace), docker.io
# and debootstrap (the Docker image and its base), docker-registry and apache2-utils' htpasswd (a
# registry with a login to push the image to), openssh-client's ssh-keygen (SSH host keys as OpenSSH
# makes and reads them), openssh-server (the real sshd tests/engineCommand.live.test.ts runs the command
# plugin against). Go is the machine's own: Debian 12's golang-go is too old for the engine.
packages=(git python3 python3-venv python3-pip python3-pip-whl python3-setuptools-whl
  python3-wheel-whl python3-dev gcc python3-yaml dpkg-dev lintian shellcheck systemd util-linux
  cloud-init nftables curl iproute2 docker.io debootstrap docker-registry apache2-utils
  openssh-client openssh-server "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  if ((EUID != 0)); then
    echo "setup: error: Debian packages missing: ${missing[*]}; run as root, or apt-get install them" >&2
    exit 2
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Every server container's systemd takes inotify instances of the host's root user. At the kernel's
# default of 128, a few stacks side by side use them up, and a booting container's systemd then
# stalls before its services start ("Failed to create inotify object: Too many open files").
instances=/proc/sys/fs/inotify/max_user_instances
wanted_instances=1024
if (($(<"$instances") < wanted_instances)); then
  if ((EUID != 0)); then
    echo "setup: warning: fs.inotify.max_user_instances is $(<"$instances"): server containers may stall at boot; as root: sysctl -w fs.inotify.max_user_instances=$wanted_instances" >&2
  else
    echo "setup: raising fs.inotify.max_user_instances from $(<"$instances") to $wanted_instances (server containers run systemd; until the next boot)" >&2
    echo "$wanted_instances" >"$instances"
  fi
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# Real Salt for the tests, in a cached virtualenv outside the checkout (pinned and hashed).
bash scripts/salt-venv.sh

# The Pulumi engine from Go modules (the CLI, Holodeck's Node.js language host, the plugins that
# build here), cached outside the checkout: minutes the first time, a second after.
bash scripts/engine.sh >/dev/null
