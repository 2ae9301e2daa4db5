#!/usr/bin/env bash
# Build benchmark: Holodeck's builder (builder/holodeck-build) against Debian's dh-virtualenv,
# both packaging the sample app examples/hello from the same git commit, offline, N runs each.
# Progress goes to stderr; the comparison table goes to stdout.
#
#   usage: bash bench/build.sh [--runs N]        (or: npm run bench:build -- --runs N)
#
# Needs root (holodeck-build uses a private mount namespace; both tools run in a network
# namespace with no network at all) and Debian 12's dh-virtualenv, debhelper, python3-venv and
# python3-{pip,setuptools,wheel}-whl. Nothing is downloaded.
set -euo pipefail
umask 022

readonly PROG=bench/build.sh
readonly WHEELS=/usr/share/python-wheels
readonly PYTHON=/usr/bin/python3
# Targets for holodeck-build / dh-virtualenv.
readonly TARGET_TIME_RATIO=0.3 TARGET_SIZE_RATIO=0.05

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Arguments.

runs=5
while (($#)); do
  case $1 in
    -h | --help)
      sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    --runs)
      (($# >= 2)) || die "--runs needs a number"
      runs=$2
      shift 2
      ;;
    --runs=*)
      runs=${1#--runs=}
      shift
      ;;
    *) die "unknown argument '$1' (usage: bash bench/build.sh [--runs N])" ;;
  esac
done
# Two runs at least: reproducibility is judged by comparing builds made in different directories.
if [[ ! $runs =~ ^[1-9][0-9]*$ ]] || ((runs < 2)); then
  die "--runs '$runs' must be a whole number of at least 2"
fi

# ---------------------------------------------------------------------------------------------
# Prerequisites, all checked before anything is built.

# The repository root is found from this script, so a clone anywhere works.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
builder=$repo_root/builder/holodeck-build
app=$repo_root/examples/hello
[[ -x $builder ]] || die "$builder is missing or not executable: run this from a complete Holodeck checkout"
[[ -f $app/pyproject.toml ]] || die "$app/pyproject.toml is missing: run this from a complete Holodeck checkout"

((EUID == 0)) || die "must run as root (holodeck-build needs a private mount namespace, and both" \
  "tools are run without network via unshare): sudo npm run bench:build"

# Each missing piece names the Debian package that provides it, so one apt-get line fixes all.
missing=()
need_command() { command -v "$1" >/dev/null || missing+=("$2"); }
need_command git git
need_command unshare util-linux
need_command dpkg-buildpackage dpkg-dev
need_command dh debhelper # dh-virtualenv does not depend on it, but its rules file runs dh
need_command dh_virtualenv dh-virtualenv
# dh_virtualenv --builtin-venv runs `python3 -m venv`, whose ensurepip lives in python3-venv.
if [[ ! -x $PYTHON ]] || ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
# Both tools take pip, setuptools and wheel only from Debian's wheel directory (no PyPI here).
for wheel in pip setuptools wheel; do
  compgen -G "$WHEELS/$wheel-*.whl" >/dev/null || missing+=("python3-$wheel-whl")
done
if ((${#missing[@]})); then
  die "missing build tools (${missing[*]}): apt-get install -y ${missing[*]}"
fi

# ---------------------------------------------------------------------------------------------
say "benchmarking holodeck-build against dh-virtualenv, $runs runs each"
started=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/holodeck-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# An interrupted run still removes its temp dir: exit through the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

# The host's /opt is where both tools' venvs would live: record it to prove neither touched it.
# Directories by name only: their times also change when other processes make and remove
# temporary entries, which would blame the builds for someone else's activity.
opt_state() {
  find /opt \( -type d -printf '%p %y\n' \) -o -printf '%p %y %s %T@\n' 2>/dev/null | LC_ALL=C sort || true
}
opt_state >"$tmp/opt.before"

# ---------------------------------------------------------------------------------------------
say "committing examples/hello to a throwaway git repository"
# Fixed identity and dates, no ambient git config: every run of this script builds the same SHA.
fixed_git=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  GIT_AUTHOR_NAME='Holodeck Bench' GIT_AUTHOR_EMAIL=bench@holodeck.invalid
  GIT_COMMITTER_NAME='Holodeck Bench' GIT_COMMITTER_EMAIL=bench@holodeck.invalid
  GIT_AUTHOR_DATE=2025-01-01T00:00:00Z GIT_COMMITTER_DATE=2025-01-01T00:00:00Z)
repo=$tmp/repo
mkdir -p "$repo"
# Leftovers of local builds in the working tree are not part of the app.
tar -C "$app" --exclude=__pycache__ --exclude='*.egg-info' --exclude=build --exclude=dist -cf - . |
  tar -C "$repo" -xf -
"${fixed_git[@]}" git init -q -b main "$repo"
"${fixed_git[@]}" git -C "$repo" add -A
"${fixed_git[@]}" git -C "$repo" commit -q -m 'Sample app for the build benchmark'
commit=$(git -C "$repo" rev-parse HEAD)
epoch=$(git -C "$repo" show -s --format=%ct HEAD)
author=$(git -C "$repo" show -s --format='%an <%ae>' HEAD)
say "commit $commit ($(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ))"

# Runs a timed build; on failure shows the tail of its log and stops the benchmark.
# Sets $elapsed_ms.
timed() {
  local what=$1 log=$2 start end
  shift 2
  start=$(date +%s%N)
  if ! "$@" >"$log" 2>&1; then
    sed -e 's/^/  | /' "$log" | tail -n 25 >&2
    die "$what failed (log above)"
  fi
  end=$(date +%s%N)
  elapsed_ms=$(((end - start) / 1000000))
}

# ---------------------------------------------------------------------------------------------
# Tool A: holodeck-build. Each run gets its own copy of the repository, output and temp dirs.
# It is given the ambient environment on purpose: it must shut out pip config by itself.
holodeck_times=() holodeck_debs=()
build_holodeck() {
  local dir=$tmp/holodeck-run-$1
  mkdir -p "$dir/tmp"
  cp -a "$repo" "$dir/repository"
  # unshare --net: no network at all, so a build that tries to reach PyPI fails loudly.
  timed "holodeck-build run $1" "$dir/build.log" \
    env TMPDIR="$dir/tmp" unshare --net -- "$builder" --repo "$dir/repository" \
    --commit "$commit" --out "$dir/out" --find-links "$WHEELS"
  local manifest
  manifest=$(tail -n 1 "$dir/build.log")
  [[ $manifest == "$dir/out/"*.deb.json && -f ${manifest%.json} ]] ||
    die "holodeck-build run $1 did not end with the path of its manifest (got '$manifest')"
  holodeck_times+=("$elapsed_ms")
  holodeck_debs+=("${manifest%.json}")
}

# Tool B: dh-virtualenv, from a minimal debian/ dir written next to a copy of the commit.
# Package name and version are the ones holodeck-build chose, so the two .debs are comparable.
write_debian_dir() {
  local debian=$1/debian
  mkdir -p "$debian/source"
  echo '3.0 (native)' >"$debian/source/format"
  cat >"$debian/control" <<EOF
Source: $package
Section: python
Priority: optional
Maintainer: $author
Build-Depends: debhelper-compat (= 13), dh-virtualenv (>= 1.2), python3-venv
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: $package
Architecture: any
Depends: \${misc:Depends}, python3
Description: $package built by dh-virtualenv
 Holodeck's sample app in a virtualenv at /opt/venvs/$package, for the build benchmark.
EOF
  cat >"$debian/changelog" <<EOF
$package ($version) unstable; urgency=medium

  * Built from commit $commit.

 -- $author  $(date -u -R -d "@$epoch")
EOF
  # --python is required: with --builtin-venv alone, dh-virtualenv 1.2.2 runs [None, -m, venv]
  # and crashes. --no-index + --find-links keep pip (and the isolated build of the project's
  # setuptools backend) on Debian's wheels; no --upgrade-pip/--preinstall, which would go to an index.
  local tab=$'\t'
  cat >"$debian/rules" <<EOF
#!/usr/bin/make -f
%:
${tab}dh \$@ --with python-virtualenv

override_dh_virtualenv:
${tab}dh_virtualenv --builtin-venv --python $PYTHON \\
${tab}  --extra-pip-arg --no-index --extra-pip-arg --find-links=$WHEELS
EOF
  chmod 0755 "$debian/rules"
}

dhv_times=() dhv_debs=()
build_dhv() {
  local dir=$tmp/dh-virtualenv-run-$1
  local src=$dir/$package-$1
  mkdir -p "$src" "$dir/home"
  git -C "$repo" archive "$commit" | tar -C "$src" -xf -
  write_debian_dir "$src"
  # A clean environment, as holodeck-build makes for its own pip: no PIP_* variables, no pip.conf
  # (PIP_CONFIG_FILE=/dev/null makes pip skip every config file), no PYTHONDONTWRITEBYTECODE, and
  # Debian's python3 first on PATH. SOURCE_DATE_EPOCH is the commit time, as holodeck-build uses.
  # -d: dpkg-buildpackage's build-dependency check also demands build-essential (a C compiler)
  # that this build never uses; the prerequisites checked above are what it does use. Skipping
  # it saves dh-virtualenv a moment, which only makes the comparison harsher on holodeck-build.
  timed "dh-virtualenv run $1" "$dir/build.log" \
    env -i --chdir="$src" PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir/home" LANG=C.UTF-8 \
    SOURCE_DATE_EPOCH="$epoch" PIP_CONFIG_FILE=/dev/null \
    unshare --net -- dpkg-buildpackage -b -d -us -uc
  local debs=("$dir"/*.deb)
  if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
    die "dh-virtualenv run $1 did not make exactly one .deb"
  fi
  dhv_times+=("$elapsed_ms")
  dhv_debs+=("${debs[0]}")
}

seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
progress() {
  say "[$1 $2/$runs] $(seconds "$3") s, $(stat -c %s "$4") bytes, sha256 $(sha256sum "$4" | cut -c1-16)"
}

# ---------------------------------------------------------------------------------------------
# Alternate the tools run by run (A B A B ...), so machine noise hits both alike.
for ((run = 1; run <= runs; run++)); do
  build_holodeck "$run"
  progress holodeck-build "$run" "${holodeck_times[-1]}" "${holodeck_debs[-1]}"
  if ((run == 1)); then
    package=$(dpkg-deb -f "${holodeck_debs[0]}" Package)
    version=$(dpkg-deb -f "${holodeck_debs[0]}" Version)
  fi
  build_dhv "$run"
  progress dh-virtualenv "$run" "${dhv_times[-1]}" "${dhv_debs[-1]}"
done

opt_state >"$tmp/opt.after"
if ! cmp -s "$tmp/opt.before" "$tmp/opt.after"; then
  die "the host's /opt changed while the builds ran (by them, or by another process):" \
    "$(diff "$tmp/opt.before" "$tmp/opt.after" | grep -m1 '^[<>]')"
fi
say "the host's /opt is unchanged"

# ---------------------------------------------------------------------------------------------
# Measurements. Sizes come from run 1 of each tool, after a smoke test of its venv.
median() {
  printf '%s\n' "$@" | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
distinct_sha256() { sha256sum "$@" | cut -d' ' -f1 | sort -u | wc -l; }

measure() {
  local tool=$1 deb=$2 tree=$tmp/unpacked-$1
  # dpkg-deb -x unpacks without installing; the venv's python still finds its own site-packages.
  dpkg-deb -x "$deb" "$tree"
  "$tree/opt/venvs/$package/bin/python" -I -B -m holodeck_hello.server --help >/dev/null 2>&1 ||
    die "$tool's package does not run: $tree/opt/venvs/$package/bin/python -m holodeck_hello.server --help fails"
  deb_bytes[$tool]=$(stat -c %s "$deb")
  installed_field[$tool]=$(dpkg-deb -f "$deb" Installed-Size)
  unpacked_kib[$tool]=$(du -s --apparent-size --block-size=1K "$tree" | cut -f1)
  file_count[$tool]=$(find "$tree" -type f | wc -l)
}
declare -A deb_bytes installed_field unpacked_kib file_count
measure holodeck "${holodeck_debs[0]}"
measure dhv "${dhv_debs[0]}"

holodeck_median=$(median "${holodeck_times[@]}")
dhv_median=$(median "${dhv_times[@]}")
holodeck_distinct=$(distinct_sha256 "${holodeck_debs[@]}")
dhv_distinct=$(distinct_sha256 "${dhv_debs[@]}")
reproducible() {
  if (($1 == 1)); then echo "yes"; else echo "no ($1 sha256)"; fi
}

span() {
  printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f .. %.2f", lo / 1000, hi / 1000 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3g", a / b }'; }
# Judged on the unrounded ratio a / b.
met() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (a / b <= t) ? "met" : "NOT met" }'; }
time_ratio=$(ratio "$holodeck_median" "$dhv_median")
deb_ratio=$(ratio "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}")
field_ratio=$(ratio "${installed_field[holodeck]}" "${installed_field[dhv]}")
unpacked_ratio=$(ratio "${unpacked_kib[holodeck]}" "${unpacked_kib[dhv]}")

# ---------------------------------------------------------------------------------------------
row() { printf '%-44s %16s %16s %12s\n' "$@"; }
{
  echo "Build benchmark: $package $version, commit ${commit:0:12}, $runs runs per tool (alternating)"
  row "" holodeck-build dh-virtualenv "holo/dhv"
  row "median build time (s)" "$(seconds "$holodeck_median")" "$(seconds "$dhv_median")" "$time_ratio"
  row "fastest .. slowest build (s)" "$(span "${holodeck_times[@]}")" "$(span "${dhv_times[@]}")" ""
  row ".deb size (bytes)" "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}" "$deb_ratio"
  row "installed size, Installed-Size field (KiB)" "${installed_field[holodeck]}" \
    "${installed_field[dhv]}" "$field_ratio"
  row "installed size, du --apparent-size (KiB)" "${unpacked_kib[holodeck]}" \
    "${unpacked_kib[dhv]}" "$unpacked_ratio"
  row "files in the package" "${file_count[holodeck]}" "${file_count[dhv]}" ""
  row "reproducible ($runs builds, $runs directories)" "$(reproducible "$holodeck_distinct")" \
    "$(reproducible "$dhv_distinct")" ""
  echo "Sizes are from run 1 of each tool; du is over the dpkg-deb -x tree of the .deb."
  echo "Targets (holodeck-build / dh-virtualenv):"
  printf '  %-42s %-8s %s\n' \
    "median build time ratio <= $TARGET_TIME_RATIO" "$time_ratio" \
    "$(met "$holodeck_median" "$dhv_median" "$TARGET_TIME_RATIO")" \
    ".deb size ratio <= $TARGET_SIZE_RATIO" "$deb_ratio" \
    "$(met "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}" "$TARGET_SIZE_RATIO")" \
    "installed size ratio (field) <= $TARGET_SIZE_RATIO" "$field_ratio" \
    "$(met "${installed_field[holodeck]}" "${installed_field[dhv]}" "$TARGET_SIZE_RATIO")"
}
say "done in $(($(date +%s) - started)) s"
