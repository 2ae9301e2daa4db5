#!/usr/bin/env bash
# Build benchmark: Holodeck's builder (builder/holodeck-build) against Debian's dh-virtualenv,
# both packaging one app from the same git commit, offline, N runs each, alternating.
# Progress goes to stderr; the comparison table goes to stdout.
#
#   usage: bash bench/build.sh [--runs N] [--warm] [--app hello|flask]
#            [--repo URL|PATH --commit SHA] [--subdir PATH] [--import MODULE]
#            [--find-links DIR]... [--index-url URL]      (or: npm run bench:build -- ...)
#
#   --app hello     examples/hello, stdlib only, from Debian's wheels (the default)
#   --app flask     bench/flask-app: Flask + gunicorn from a local wheelhouse of pinned, hashed
#                   wheels (bench/flask-wheelhouse.txt), downloaded from PyPI once into
#                   ${XDG_CACHE_HOME:-~/.cache}/holodeck-bench; later runs need no network
#   --repo, --commit, --subdir  any app instead: a git repository, a commit, a project dir in it
#   --find-links, --index-url   where its dependencies come from (default: Debian's wheels);
#                   an index needs network, so builds then run with the host's network
#   --import MODULE a module the built venvs must import (the presets have their own)
#   --warm          also time warm rebuilds: a new commit of the app (same dependencies) built
#                   after the previous one, holodeck-build with a primed --wheel-cache and
#                   dh-virtualenv with its primed pip cache; and check that warm and cold builds
#                   of that commit are bit-identical
#
# Needs root (holodeck-build uses a private mount namespace; both tools run in a network
# namespace with no network at all) and Debian 12's dh-virtualenv, debhelper, python3-venv and
# python3-{pip,setuptools,wheel}-whl.
set -euo pipefail
umask 022

readonly PROG=bench/build.sh
readonly WHEELS=/usr/share/python-wheels
readonly PYTHON=/usr/bin/python3
# Targets for holodeck-build / dh-virtualenv (the size target is for the stdlib sample only).
readonly TARGET_COLD_RATIO=0.15 TARGET_WARM_RATIO=0.08 TARGET_SIZE_RATIO=0.05

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Arguments.

runs=5 warm=false app_preset='' repo_arg='' commit_arg='' subdir='' import_module='' index_url=''
find_links=()
while (($#)); do
  case $1 in
    -h | --help)
      sed -n '2,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    --warm) warm=true; shift; continue ;;
    --runs=*) set -- --runs "${1#--runs=}" "${@:2}" ;;
    --runs | --app | --repo | --commit | --subdir | --import | --find-links | --index-url)
      (($# >= 2)) || die "$1 needs a value (see --help)" ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  case $1 in
    --runs) runs=$2 ;;
    --app) app_preset=$2 ;;
    --repo) repo_arg=$2 ;;
    --commit) commit_arg=$2 ;;
    --subdir) subdir=$2 ;;
    --import) import_module=$2 ;;
    --find-links) find_links+=("$2") ;;
    --index-url) index_url=$2 ;;
  esac
  shift 2
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
[[ -x $builder ]] || die "$builder is missing or not executable: run this from a complete Holodeck checkout"

# The app: a preset directory of this checkout (committed to a throwaway repository below), or
# --repo and --commit.
app='' wheelhouse_list='' cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/holodeck-bench
if [[ -n $repo_arg ]]; then
  [[ -z $app_preset ]] || die "--app and --repo exclude each other: --app builds a sample of this checkout"
  [[ -n $commit_arg ]] || die "--repo needs --commit: the full 40-hex SHA to build"
  [[ $commit_arg =~ ^[0-9a-fA-F]{40}$ ]] || die "--commit '$commit_arg' is not a full 40-hex SHA (git rev-parse it)"
else
  [[ -z $commit_arg && -z $subdir ]] || die "--commit and --subdir need --repo"
  case ${app_preset:-hello} in
    hello)
      app=$repo_root/examples/hello
      import_module=${import_module:-holodeck_hello.server}
      ;;
    flask)
      app=$repo_root/bench/flask-app
      import_module=${import_module:-holodeck_flask.app}
      wheelhouse_list=$repo_root/bench/flask-wheelhouse.txt
      [[ -f $wheelhouse_list ]] || die "$wheelhouse_list is missing: run this from a complete Holodeck checkout"
      find_links=("$cache_root/flask-wheelhouse" "${find_links[@]}")
      ;;
    *) die "--app '$app_preset' is not a sample: use hello or flask (or --repo/--commit for any app)" ;;
  esac
  [[ -f $app/pyproject.toml ]] || die "$app/pyproject.toml is missing: run this from a complete Holodeck checkout"
fi
if [[ -n $subdir && ($subdir == /* || /$subdir/ == */../*) ]]; then
  die "--subdir '$subdir' must be a relative path inside the repository, without '..'"
fi
[[ -z $index_url || $index_url =~ ^(https?|file):// ]] || die "--index-url '$index_url' must be an http(s):// or file:// URL"
# Debian's wheels always come last: pip, setuptools and wheel for the isolated builds.
find_links+=("$WHEELS")
# Builds run without any network unless a source is remote.
offline=true
[[ -n $index_url ]] && offline=false
for links in "${find_links[@]}"; do
  if [[ $links =~ ^(https?|file):// ]]; then
    offline=false
  elif [[ $links != "$cache_root"/* && ! -d $links ]]; then
    die "--find-links '$links' is neither a directory nor a URL"
  fi
done
[[ -z $import_module || $import_module =~ ^[A-Za-z_][A-Za-z0-9_.]*$ ]] ||
  die "--import '$import_module' is not a Python module name"

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
# ---------------------------------------------------------------------------------------------
# The Flask app's wheelhouse: checked offline first, downloaded (hash-checked) only if incomplete.
if [[ -n $wheelhouse_list ]]; then
  wheelhouse=$cache_root/flask-wheelhouse
  mkdir -p "$wheelhouse"
  pip_clean=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$cache_root" LANG=C.UTF-8
    PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1)
  for proxy in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [[ -n ${!proxy:-} ]] && pip_clean+=("$proxy=${!proxy}")
  done
  pip_download=("$PYTHON" -m pip download -q --no-deps --only-binary :all: --require-hashes
    -r "$wheelhouse_list" -d "$wheelhouse")
  if "${pip_clean[@]}" "${pip_download[@]}" --no-index --find-links "$wheelhouse" >/dev/null 2>&1; then
    say "wheelhouse $wheelhouse is complete (hashes checked)"
  else
    say "downloading the Flask app's wheelhouse from PyPI into $wheelhouse"
    "${pip_clean[@]}" "${pip_download[@]}" ||
      die "cannot download the wheelhouse listed in $wheelhouse_list (network, or a hash mismatch)"
  fi
fi

# ---------------------------------------------------------------------------------------------
say "benchmarking holodeck-build against dh-virtualenv, $runs runs each$([[ $warm == true ]] && echo ", cold and warm")"
started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
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
# Fixed identity and dates, no ambient git config: every run of this script builds the same SHAs.
fixed_git=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  GIT_AUTHOR_NAME='Holodeck Bench' GIT_AUTHOR_EMAIL=bench@holodeck.invalid
  GIT_COMMITTER_NAME='Holodeck Bench' GIT_COMMITTER_EMAIL=bench@holodeck.invalid
  GIT_AUTHOR_DATE=2025-01-01T00:00:00Z GIT_COMMITTER_DATE=2025-01-01T00:00:00Z)
repo=$tmp/repo
mkdir -p "$repo"
if [[ -n $app ]]; then
  say "committing ${app#"$repo_root"/} to a throwaway git repository"
  # Leftovers of local builds in the working tree are not part of the app.
  tar -C "$app" --exclude=__pycache__ --exclude='*.egg-info' --exclude=build --exclude=dist -cf - . |
    tar -C "$repo" -xf -
  "${fixed_git[@]}" git init -q -b main "$repo"
  "${fixed_git[@]}" git -C "$repo" add -A
  "${fixed_git[@]}" git -C "$repo" commit -q -m 'App for the build benchmark'
else
  say "fetching commit $commit_arg from ${repo_arg##*@}"
  "${fixed_git[@]}" git init -q -b main "$repo"
  GIT_TERMINAL_PROMPT=0 "${fixed_git[@]}" git -C "$repo" fetch -q --depth 1 "$repo_arg" "$commit_arg" ||
    die "cannot fetch commit $commit_arg from the repository given by --repo"
  "${fixed_git[@]}" git -C "$repo" -c advice.detachedHead=false checkout -q --detach "$commit_arg"
  [[ -f $repo/${subdir:+$subdir/}pyproject.toml || -f $repo/${subdir:+$subdir/}setup.py ]] ||
    die "no pyproject.toml or setup.py in ${subdir:-the repository root} at that commit: pass --subdir"
fi
first_commit=$(git -C "$repo" rev-parse HEAD)
commit=$first_commit
if [[ $warm == true ]]; then
  # The warm rebuild's commit: the app's code changes (a comment at the end of its first Python
  # file, or of pyproject.toml), its dependencies do not.
  mapfile -t python_files < <(git -C "$repo" ls-files -- "${subdir:+$subdir/}*.py")
  changed=${python_files[0]:-${subdir:+$subdir/}pyproject.toml}
  echo "# rebuilt by bench/build.sh --warm" >>"$repo/$changed"
  "${fixed_git[@]}" GIT_COMMITTER_DATE=2025-01-02T00:00:00Z GIT_AUTHOR_DATE=2025-01-02T00:00:00Z \
    git -C "$repo" commit -q -a -m 'A new commit of the app, same dependencies'
  commit=$(git -C "$repo" rev-parse HEAD)
fi
epoch=$(git -C "$repo" show -s --format=%ct "$commit")
author=$(git -C "$repo" show -s --format='%an <%ae>' "$commit")
say "commit $commit ($(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ))${subdir:+, project in $subdir}"

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
# unshare --net: no network at all, so a build that tries to reach an index fails loudly.
no_net=()
[[ $offline == true ]] && no_net=(unshare --net --)

# ---------------------------------------------------------------------------------------------
# Tool A: holodeck-build. Each run gets its own copy of the repository, output and temp dirs.
# It is given the ambient environment on purpose: it must shut out pip config by itself.
holodeck_sources=()
[[ -n $index_url ]] && holodeck_sources+=(--index-url "$index_url")
for links in "${find_links[@]}"; do holodeck_sources+=(--find-links "$links"); done

# build_holodeck RUN-NAME COMMIT WHEEL-CACHE: builds COMMIT; adds the time and .deb to the lists
# named by the caller (holodeck_times, holodeck_debs) unless RUN-NAME starts with "prime".
build_holodeck() {
  local run=$1 build_commit=$2 cache=$3 dir=$tmp/holodeck-$1
  mkdir -p "$dir/tmp"
  cp -a "$repo" "$dir/repository"
  timed "holodeck-build $run" "$dir/build.log" \
    env TMPDIR="$dir/tmp" "${no_net[@]}" "$builder" --repo "$dir/repository" \
    --commit "$build_commit" ${subdir:+--subdir "$subdir"} --out "$dir/out" \
    "${holodeck_sources[@]}" --wheel-cache "$cache"
  local manifest
  manifest=$(tail -n 1 "$dir/build.log")
  [[ $manifest == "$dir/out/"*.deb.json && -f ${manifest%.json} ]] ||
    die "holodeck-build $run did not end with the path of its manifest (got '$manifest')"
  last_deb=${manifest%.json}
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
 The benchmarked app in a virtualenv at /opt/venvs/$package.
EOF
  cat >"$debian/changelog" <<EOF
$package ($version) unstable; urgency=medium

  * Built from commit $commit.

 -- $author  $(date -u -R -d "@$epoch")
EOF
  # --python is required: with --builtin-venv alone, dh-virtualenv 1.2.2 runs [None, -m, venv]
  # and crashes. The same sources as holodeck-build's keep pip (and the isolated build of the
  # project's setuptools backend) on the benchmark's wheels; no --upgrade-pip/--preinstall,
  # which would go to an index. dh_virtualenv runs pip from the project directory (--sourcedirectory).
  local tab=$'\t' pip_args=''
  if [[ -n $index_url ]]; then
    pip_args+=" --extra-pip-arg --index-url=$index_url"
  else
    pip_args+=" --extra-pip-arg --no-index"
  fi
  for links in "${find_links[@]}"; do pip_args+=" --extra-pip-arg --find-links=$links"; done
  cat >"$debian/rules" <<EOF
#!/usr/bin/make -f
%:
${tab}dh \$@ --with python-virtualenv${subdir:+ --sourcedirectory=$subdir}

override_dh_virtualenv:
${tab}dh_virtualenv --builtin-venv --python $PYTHON${subdir:+ --sourcedirectory=$subdir} \\
${tab}  $pip_args
EOF
  chmod 0755 "$debian/rules"
}

# build_dhv RUN-NAME COMMIT HOME: HOME holds pip's cache, dh-virtualenv's only cache.
build_dhv() {
  local run=$1 build_commit=$2 home=$3 dir=$tmp/dh-virtualenv-$1
  local src=$dir/$package-src
  mkdir -p "$src" "$home"
  git -C "$repo" archive "$build_commit" | tar -C "$src" -xf -
  write_debian_dir "$src"
  # A clean environment, as holodeck-build makes for its own pip: no PIP_* variables, no pip.conf
  # (PIP_CONFIG_FILE=/dev/null makes pip skip every config file), no PYTHONDONTWRITEBYTECODE, and
  # Debian's python3 first on PATH. SOURCE_DATE_EPOCH is the commit time, as holodeck-build uses.
  # -d: dpkg-buildpackage's build-dependency check also demands build-essential (a C compiler)
  # that this build never uses; the prerequisites checked above are what it does use. Skipping
  # it saves dh-virtualenv a moment, which only makes the comparison harsher on holodeck-build.
  # noautodbgsym: no second package of debug symbols for an app's compiled extensions.
  timed "dh-virtualenv $run" "$dir/build.log" \
    env -i --chdir="$src" PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" LANG=C.UTF-8 \
    SOURCE_DATE_EPOCH="$(git -C "$repo" show -s --format=%ct "$build_commit")" PIP_CONFIG_FILE=/dev/null \
    DEB_BUILD_OPTIONS=noautodbgsym "${no_net[@]}" dpkg-buildpackage -b -d -us -uc
  local debs=("$dir"/*.deb)
  if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
    die "dh-virtualenv $run did not make exactly one .deb"
  fi
  last_deb=${debs[0]}
}

seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
progress() {
  say "[$1] $(seconds "$2") s, $(stat -c %s "$3") bytes, sha256 $(sha256sum "$3" | cut -c1-16)"
}

# ---------------------------------------------------------------------------------------------
# Cold: every run starts from nothing (holodeck-build from an empty wheel cache, dh-virtualenv
# from an empty pip cache). Alternate the tools run by run (A B A B ...), so machine noise hits
# both alike.
holodeck_times=() holodeck_debs=() dhv_times=() dhv_debs=()
for ((run = 1; run <= runs; run++)); do
  build_holodeck "cold-$run" "$commit" "$tmp/holodeck-cold-$run/cache"
  holodeck_times+=("$elapsed_ms") holodeck_debs+=("$last_deb")
  progress "holodeck-build cold $run/$runs" "$elapsed_ms" "$last_deb"
  if ((run == 1)); then
    package=$(dpkg-deb -f "${holodeck_debs[0]}" Package)
    version=$(dpkg-deb -f "${holodeck_debs[0]}" Version)
  fi
  build_dhv "cold-$run" "$commit" "$tmp/dh-virtualenv-cold-$run/home"
  dhv_times+=("$elapsed_ms") dhv_debs+=("$last_deb")
  progress "dh-virtualenv cold $run/$runs" "$elapsed_ms" "$last_deb"
done

# Warm: each tool first builds the previous commit (untimed) with a cache that then persists,
# and every warm run builds the new commit with it.
holodeck_warm_times=() holodeck_warm_debs=() dhv_warm_times=() dhv_warm_debs=()
if [[ $warm == true ]]; then
  say "priming both tools' caches with a build of the previous commit ${first_commit:0:12}"
  build_holodeck prime "$first_commit" "$tmp/wheel-cache"
  build_dhv prime "$first_commit" "$tmp/dhv-home"
  for ((run = 1; run <= runs; run++)); do
    build_holodeck "warm-$run" "$commit" "$tmp/wheel-cache"
    holodeck_warm_times+=("$elapsed_ms") holodeck_warm_debs+=("$last_deb")
    progress "holodeck-build warm $run/$runs" "$elapsed_ms" "$last_deb"
    build_dhv "warm-$run" "$commit" "$tmp/dhv-home"
    dhv_warm_times+=("$elapsed_ms") dhv_warm_debs+=("$last_deb")
    progress "dh-virtualenv warm $run/$runs" "$elapsed_ms" "$last_deb"
  done
fi

opt_state >"$tmp/opt.after"
if ! cmp -s "$tmp/opt.before" "$tmp/opt.after"; then
  die "the host's /opt changed while the builds ran (by them, or by another process):" \
    "$(diff "$tmp/opt.before" "$tmp/opt.after" | grep -m1 '^[<>]')"
fi
say "the host's /opt is unchanged"

# ---------------------------------------------------------------------------------------------
# Measurements. Sizes come from cold run 1 of each tool, after a smoke test of its venv.
median() {
  printf '%s\n' "$@" | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
distinct_sha256() { sha256sum "$@" | cut -d' ' -f1 | sort -u | wc -l; }

measure() {
  local tool=$1 deb=$2 tree=$tmp/unpacked-$1
  # dpkg-deb -x unpacks without installing; the venv's python still finds its own site-packages.
  dpkg-deb -x "$deb" "$tree"
  if [[ -n $import_module ]]; then
    "$tree/opt/venvs/$package/bin/python" -I -B -c "import $import_module" >/dev/null 2>&1 ||
      die "$tool's package does not run: $tree/opt/venvs/$package/bin/python -c 'import $import_module' fails"
  fi
  deb_bytes[$tool]=$(stat -c %s "$deb")
  installed_field[$tool]=$(dpkg-deb -f "$deb" Installed-Size)
  unpacked_kib[$tool]=$(du -s --apparent-size --block-size=1K "$tree" | cut -f1)
  file_count[$tool]=$(find "$tree" -type f | wc -l)
}
declare -A deb_bytes installed_field unpacked_kib file_count
measure holodeck "${holodeck_debs[0]}"
measure dhv "${dhv_debs[0]}"

reproducible() {
  local distinct
  distinct=$(distinct_sha256 "$@")
  if ((distinct == 1)); then echo "yes"; else echo "no ($distinct sha256)"; fi
}
span() {
  printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f .. %.2f", lo / 1000, hi / 1000 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3g", a / b }'; }
# The median of run-by-run ratios (run i of one tool over run i of the other, which ran right
# after it): steadier than the ratio of medians when the machine's load drifts during the runs.
paired_ratio() {
  local -n a=$1 b=$2
  local i ratios=()
  for i in "${!a[@]}"; do ratios+=("$(awk -v x="${a[i]}" -v y="${b[i]}" 'BEGIN { printf "%.6f", x / y }')"); done
  printf '%.3g' "$(median "${ratios[@]}")"
}
# Judged on the unrounded ratio a / b.
met() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print (a / b <= t) ? "met" : "NOT met" }'; }
holodeck_median=$(median "${holodeck_times[@]}")
dhv_median=$(median "${dhv_times[@]}")
time_ratio=$(ratio "$holodeck_median" "$dhv_median")
deb_ratio=$(ratio "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}")
field_ratio=$(ratio "${installed_field[holodeck]}" "${installed_field[dhv]}")
unpacked_ratio=$(ratio "${unpacked_kib[holodeck]}" "${unpacked_kib[dhv]}")

# ---------------------------------------------------------------------------------------------
row() { printf '%-46s %16s %16s %12s\n' "$@"; }
{
  echo "Build benchmark: $package $version, commit ${commit:0:12}, $runs runs per tool (alternating)"
  echo "Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
  row "" holodeck-build dh-virtualenv "holo/dhv"
  row "cold: median build time (s)" "$(seconds "$holodeck_median")" "$(seconds "$dhv_median")" "$time_ratio"
  row "cold: fastest .. slowest build (s)" "$(span "${holodeck_times[@]}")" "$(span "${dhv_times[@]}")" ""
  row "cold: median of run-by-run ratios" "" "" "$(paired_ratio holodeck_times dhv_times)"
  if [[ $warm == true ]]; then
    holodeck_warm_median=$(median "${holodeck_warm_times[@]}")
    dhv_warm_median=$(median "${dhv_warm_times[@]}")
    row "warm: median rebuild time (s)" "$(seconds "$holodeck_warm_median")" \
      "$(seconds "$dhv_warm_median")" "$(ratio "$holodeck_warm_median" "$dhv_warm_median")"
    row "warm: fastest .. slowest rebuild (s)" "$(span "${holodeck_warm_times[@]}")" \
      "$(span "${dhv_warm_times[@]}")" ""
    row "warm: median of run-by-run ratios" "" "" "$(paired_ratio holodeck_warm_times dhv_warm_times)"
    row "warm vs dh-virtualenv's cold median" "" "" "$(ratio "$holodeck_warm_median" "$dhv_median")"
  fi
  row ".deb size (bytes)" "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}" "$deb_ratio"
  row "installed size, Installed-Size field (KiB)" "${installed_field[holodeck]}" \
    "${installed_field[dhv]}" "$field_ratio"
  row "installed size, du --apparent-size (KiB)" "${unpacked_kib[holodeck]}" \
    "${unpacked_kib[dhv]}" "$unpacked_ratio"
  row "files in the package" "${file_count[holodeck]}" "${file_count[dhv]}" ""
  row "reproducible ($runs cold builds, $runs directories)" "$(reproducible "${holodeck_debs[@]}")" \
    "$(reproducible "${dhv_debs[@]}")" ""
  if [[ $warm == true ]]; then
    row "cold and warm builds all bit-identical" \
      "$(reproducible "${holodeck_debs[@]}" "${holodeck_warm_debs[@]}")" \
      "$(reproducible "${dhv_debs[@]}" "${dhv_warm_debs[@]}")" ""
  fi
  echo "Sizes are from cold run 1 of each tool; du is over the dpkg-deb -x tree of the .deb."
  [[ -n $import_module ]] && echo "Both packages' venvs import $import_module."
  echo "Targets (holodeck-build / dh-virtualenv):"
  printf '  %-42s %-8s %s\n' "cold median build time ratio <= $TARGET_COLD_RATIO" "$time_ratio" \
    "$(met "$holodeck_median" "$dhv_median" "$TARGET_COLD_RATIO")"
  if [[ $warm == true ]]; then
    printf '  %-42s %-8s %s\n' "warm median rebuild time ratio <= $TARGET_WARM_RATIO" \
      "$(ratio "$holodeck_warm_median" "$dhv_warm_median")" \
      "$(met "$holodeck_warm_median" "$dhv_warm_median" "$TARGET_WARM_RATIO")"
  fi
  if [[ ${app_preset:-hello} == hello && -z $repo_arg ]]; then
    printf '  %-42s %-8s %s\n' \
      ".deb size ratio <= $TARGET_SIZE_RATIO" "$deb_ratio" \
      "$(met "${deb_bytes[holodeck]}" "${deb_bytes[dhv]}" "$TARGET_SIZE_RATIO")" \
      "installed size ratio (field) <= $TARGET_SIZE_RATIO" "$field_ratio" \
      "$(met "${installed_field[holodeck]}" "${installed_field[dhv]}" "$TARGET_SIZE_RATIO")"
  fi
}
say "done in $(($(date +%s) - started)) s"
