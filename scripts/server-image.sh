#!/usr/bin/env bash
# Builds holodeck/server:<key>, the image the `local` stack's servers run from: a container that
# boots systemd (/sbin/init) and runs cloud-init with the server's own user data from a NoCloud
# seed (/var/lib/cloud/seed/nocloud), with Salt 3008 preinstalled where the onedir packages put it
# (/opt/saltstack/salt, /usr/bin/salt-*), because containers cannot reach the Salt repository.
#
# Salt's wheels are fetched on this machine (pinned with hashes by scripts/salt-requirements.txt;
# salt and timelib built from their sdists here, on the same Debian 12 and Python 3.11 as the
# image) into ~/.cache/holodeck/server-wheels-<key> and installed in the image with --no-index
# --require-hashes. The tag's key hashes everything that goes in: this script, the requirement
# files and the base image. Returns at once when the image exists. Progress goes to stderr; the
# last line on stdout is the tag. holodeck/server:bookworm, the docker substrate's default
# holodeck:serverImage, is moved to it: servers made from an older image are replaced on the next
# `pulumi up`, as a new image ID replaces them on OpenStack.
#
# Run a server:  docker run -d --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#                  --cap-add NET_ADMIN holodeck/server:<key>   (after `docker cp SEED/. CONTAINER:/var/lib/cloud/seed/nocloud`)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's client: the `docker` first on PATH may be another one.
docker=/usr/bin/docker
python=/usr/bin/python3
base=holodeck/debian:bookworm-minbase
requirements=scripts/salt-requirements.txt
build_requirements=scripts/salt-build-requirements.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/holodeck

say() { echo "server-image: [${SECONDS}s] $*" >&2; }
die() {
  echo "server-image: error: $*" >&2
  exit 1
}

# --- What the build needs -------------------------------------------------------------------
[[ -x $docker ]] || die "$docker is missing: apt-get install docker.io (Debian's Docker engine and client)"
"$docker" info >/dev/null 2>&1 ||
  die "no Docker engine answers: start Debian's as root with 'dockerd > /tmp/dockerd.log 2>&1 &'"
bash scripts/base-image.sh
base_id=$("$docker" image inspect --format '{{.Id}}' "$base")

key=$(cat scripts/server-image.sh "$build_requirements" "$requirements" <(echo "$base_id") | sha256sum | cut -c1-12)
tag=holodeck/server:$key
current=holodeck/server:bookworm
mkdir -p "$cache"
# One build at a time: test workers may all ask at once.
exec 9>"$cache/server-image.lock"
flock 9
if "$docker" image inspect "$tag" >/dev/null 2>&1; then
  say "$tag is there already"
  "$docker" tag "$tag" "$current"
  echo "$tag"
  exit 0
fi
scratch=$(mktemp -d /var/tmp/holodeck-server-image.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# --- Salt's wheels, on the host ---------------------------------------------------------------
wheels=$cache/server-wheels-$(cat "$build_requirements" "$requirements" | sha256sum | cut -c1-12)
if [[ ! -f $wheels/.complete ]]; then
  # timelib (a Salt requirement) is a C extension built from its sdist.
  for need in /usr/include/python3.11/Python.h /usr/bin/gcc; do
    [[ -e $need ]] || die "$need is missing: apt-get install python3-dev gcc (to build Salt's timelib wheel)"
  done
  say "fetching and building Salt's wheels into $wheels (a few minutes the first time)"
  rm -rf "$wheels"
  mkdir -p "$wheels/files"
  builder=$scratch/builder
  mkdir "$builder"
  # Hermetic: none of the machine's pip settings (index, find-links, constraints) apply.
  while IFS= read -r variable; do unset "$variable"; done < <(compgen -e | grep '^PIP_' || true)
  export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
  "$python" -m venv "$builder/venv"
  # salt and timelib come as sdists: they build without isolation, with the pinned build
  # requirements, so nothing unhashed is fetched.
  if ! { "$builder/venv/bin/pip" install -q --require-hashes --no-deps -r "$build_requirements" &&
    "$builder/venv/bin/pip" wheel -q --require-hashes --no-deps --no-build-isolation \
      -r "$requirements" -w "$wheels/files"; } >"$builder/pip.log" 2>&1; then
    tail -n 20 "$builder/pip.log" >&2
    die "fetching or building Salt's wheels failed (pip's last lines above)"
  fi
  # The image installs exactly these files: wheels fetched as pinned, and the two built here.
  for wheel in "$wheels"/files/*.whl; do
    name=$(basename "$wheel")
    IFS=- read -r dist version _ <<<"$name"
    echo "$dist==$version --hash=sha256:$(sha256sum "$wheel" | cut -d' ' -f1)"
  done >"$wheels/files/requirements.txt"
  touch "$wheels/.complete"
  say "$(find "$wheels/files" -name '*.whl' | wc -l) wheels ready"
fi

# --- The build context: the image's own files and its Dockerfile ------------------------------
context=$scratch/context
mkdir "$context"
cp -a "$wheels/files" "$context/wheels"

# No documentation in the image, nor in what servers install at boot.
cat >"$context/nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG

# The seed directory is the only data source; Docker owns the container's network, which
# cloud-init would otherwise try to render (no renderer is installed).
cat >"$context/cloud.cfg" <<'CLOUD'
datasource_list: [NoCloud]
network:
  config: disabled
CLOUD

# The units of Salt's onedir packages (pkg/common in saltstack/salt). salt-master starts as root
# and drops to the configured `user: salt` itself, after chowning its pki, cache and run
# directories to that user: keys written by cloud-init as root become the master's, as the
# package's postinst makes them when they are written before it is installed.
cat >"$context/salt-master.service" <<'UNIT'
[Unit]
Description=The Salt Master Server
Documentation=man:salt-master(1) https://docs.saltproject.io/en/latest/contents.html
After=network.target

[Service]
LimitNOFILE=100000
Type=notify
NotifyAccess=all
ExecStart=/usr/bin/salt-master

[Install]
WantedBy=multi-user.target
UNIT
cat >"$context/salt-minion.service" <<'UNIT'
[Unit]
Description=The Salt Minion
Documentation=man:salt-minion(1) https://docs.saltproject.io/en/latest/contents.html
After=network.target salt-master.service

[Service]
KillMode=process
Type=notify
NotifyAccess=all
LimitNOFILE=8192
ExecStart=/usr/bin/salt-minion

[Install]
WantedBy=multi-user.target
UNIT

# In the Dockerfile:
# - the seed directory root's alone: a seed holds private keys, whatever its files' modes;
# - no SSH host keys and an empty machine-id: cloud-init and systemd make each server its own;
# - LANG=C.UTF-8, the locale minbase has, leaves cloud-init's locale module nothing to generate;
# - nginx (the artifact store) and haproxy (the balancer) are there for the servers that are
#   those, disabled until their user data configures and starts them;
# - Salt's units stay disabled: an enabled minion would start at boot before cloud-init has
#   written its keys and config. The user data's `systemctl enable --now` starts each, as it
#   does right after installing the package on OpenStack;
# - the salt user and Salt's directories as the packages' preinst and dirs files make them.
onedir=/opt/saltstack/salt
commands="salt salt-call salt-cp salt-key salt-master salt-minion salt-run spm"
cat >"$context/Dockerfile" <<DOCKERFILE
# Holodeck's server image: systemd, cloud-init (NoCloud), sshd, nginx, haproxy and Salt $(grep -o '^salt==[0-9.]*' "$requirements" | cut -d= -f3).
FROM $base
ENV container=docker
COPY nodoc /etc/dpkg/dpkg.cfg.d/01-holodeck-nodoc
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
       systemd systemd-sysv dbus cloud-init openssh-server sudo curl ca-certificates gpg nftables \\
       python3 python3-venv nginx-core haproxy \\
    && systemctl disable nginx haproxy \\
    && rm -f /etc/nginx/sites-enabled/default \\
    && apt-get clean \\
    && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log \\
    && rm -f /etc/ssh/ssh_host_* \\
    && : >/etc/machine-id \\
    && echo LANG=C.UTF-8 >/etc/default/locale \\
    && install -d -m 0700 /var/lib/cloud/seed/nocloud
COPY cloud.cfg /etc/cloud/cloud.cfg.d/99_holodeck.cfg
COPY salt-master.service salt-minion.service /lib/systemd/system/
RUN --mount=type=bind,source=wheels,target=/tmp/wheels \\
    python3 -m venv $onedir \\
    && $onedir/bin/pip install -q --no-index --find-links /tmp/wheels --require-hashes --no-deps \\
       -r /tmp/wheels/requirements.txt \\
    && for command in $commands; do \\
         ln -s bin/\$command $onedir/\$command && ln -s $onedir/\$command /usr/bin/\$command; \\
       done \\
    && ln -s bin/pip $onedir/salt-pip && ln -s $onedir/salt-pip /usr/bin/salt-pip \\
    && groupadd --system salt \\
    && useradd --system --no-create-home --home-dir $onedir --shell /usr/sbin/nologin --gid salt --comment Salt salt \\
    && install -d -m 0755 /etc/salt /etc/salt/minion.d /etc/salt/pki /var/cache/salt /var/log/salt \\
    && install -d -m 0700 /etc/salt/pki/minion /var/cache/salt/minion \\
    && install -d -o salt -g salt -m 0755 /etc/salt/master.d /var/cache/salt/master \\
    && install -d -o salt -g salt -m 0700 /etc/salt/pki/master \\
    && install -d -o salt -g salt -m 0755 /etc/salt/pki/master/minions /etc/salt/pki/master/minions_autosign \\
       /etc/salt/pki/master/minions_denied /etc/salt/pki/master/minions_pre /etc/salt/pki/master/minions_rejected \\
    && salt-call --version
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
LABEL io.holodeck.server-image.key="$key"
DOCKERFILE

say "building $tag from $base (several minutes the first time)"
if ! DOCKER_BUILDKIT=1 "$docker" build --progress=plain --tag "$tag" "$context" >"$context/build.log" 2>&1; then
  tail -n 30 "$context/build.log" >&2
  die "docker build of $tag failed (its last lines above)"
fi
say "$tag made: $(("$("$docker" image inspect --format '{{.Size}}' "$tag")" / 1000000)) MB"
"$docker" tag "$tag" "$current"
echo "$tag"
