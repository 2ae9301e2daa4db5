#!/usr/bin/env bash
# Builds the Pulumi engine from Go modules, or finds it already built: the `pulumi` CLI, the
# Node.js language host and the resource plugins the program loads, each at the version that
# node_modules' SDK packages request. Output goes to a cache directory keyed by those versions and
# by engine/ (HOLODECK_ENGINE_DIR overrides it): bin/ (put it first on PATH) and home/ (the
# PULUMI_HOME whose plugins/ holds the resource plugins under their exact versions). Progress goes
# to stderr; the last line on stdout is the bin directory.
#
# A plugin whose Go module the proxy refuses is reported and skipped (it is listed in
# <dir>/unavailable); any other failure stops the script with what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'engine: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

[[ -f node_modules/@pulumi/pulumi/package.json ]] || fail "no node_modules/@pulumi/pulumi: run npm ci (or scripts/setup.sh) first"
command -v go >/dev/null || fail "no go on PATH: the engine is built with Go 1.25 or later"

# The versions node_modules asks for: the SDK's (the CLI and language host are built to match it)
# and each resource plugin's, as the language host reports them to the engine.
sdk_version=$(node -p 'require("./node_modules/@pulumi/pulumi/package.json").version')
# A package without pulumi.version asks for its own version.
plugin_version() { node -p "const p = require('./node_modules/@pulumi/$1/package.json'); (p.pulumi.version || p.version).replace(/^v/, '')"; }
declare -A wanted
for name in command random tls openstack docker; do
  wanted[$name]=$(plugin_version "$name")
done
go_version=$(go env GOVERSION)

key=$({
  echo "sdk $sdk_version $go_version"
  for name in "${!wanted[@]}"; do echo "$name ${wanted[$name]}"; done | sort
  git ls-files engine scripts/engine.sh | xargs sha256sum
} | sha256sum | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/holodeck
dir=${HOLODECK_ENGINE_DIR:-$cache/engine-$key}
mkdir -p "$dir/bin" "$dir/home" "$dir/logs"
touch "$dir"
# One build at a time per engine: the test runner's workers may all ask at once.
exec 9>"$dir/lock"
flock 9
# Engines of other versions (~300 MB each) go once no run has used them for a week.
if [[ -z ${HOLODECK_ENGINE_DIR:-} ]]; then
  find "$cache" -maxdepth 1 -name 'engine-*' ! -path "$dir" -mtime +7 -exec rm -rf {} +
fi
: >"$dir/unavailable"

export GOFLAGS="-mod=readonly ${GOFLAGS:-}" CGO_ENABLED=0

# Runs a build step unless its output exists, timing it; on failure shows the log's last lines.
built=0
step() {
  local what=$1 output=$2
  shift 2
  if [[ -x $output ]]; then return 0; fi
  local log="$dir/logs/${what%% *}.log" started=$SECONDS
  say "building $what ..."
  if ! "$@" >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    if grep -qE '403 Forbidden|not available' "$log"; then
      return 3
    fi
    fail "building $what failed (full log: $log); fix what the log names, or remove $dir and run again"
  fi
  say "built $what in $((SECONDS - started)) s ($(du -h "$output" | cut -f1))"
  built=$((built + 1))
}

# A refused module is not a build error: note it (the program's previews need it) and go on.
unavailable() {
  echo "$1 ${wanted[$1]} $2" >>"$dir/unavailable"
}

# Where the engine finds a resource plugin under the exact version the SDK asks for (no version
# mismatch warning): PULUMI_HOME's plugins/.
installed() { echo "$dir/home/plugins/resource-$1-v${wanted[$1]}/pulumi-resource-$1"; }

cli_pin=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' engine/cli/go.mod)
[[ $cli_pin == "v$sdk_version" ]] ||
  fail "engine/cli/go.mod pins pulumi $cli_pin but node_modules has @pulumi/pulumi $sdk_version: set both to one version (go get github.com/pulumi/pulumi/pkg/v3@v$sdk_version github.com/pulumi/pulumi/sdk/v3@v$sdk_version)"
version_flag="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$sdk_version"

refused_cli() { fail "the Go module proxy refused a module that engine/cli/go.mod names (above): the CLI cannot be built until it is served"; }
build_in_cli_module() { (cd engine/cli && go build -trimpath -ldflags "$version_flag" -o "$1" "$2"); }
step "pulumi $sdk_version" "$dir/bin/pulumi" \
  build_in_cli_module "$dir/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi || refused_cli
step "pulumi-language-nodejs $sdk_version (Holodeck's own host)" "$dir/bin/pulumi-language-nodejs" \
  build_in_cli_module "$dir/bin/pulumi-language-nodejs" ./language-nodejs || refused_cli

# Holodeck's own bridges of Terraform providers (engine/NAME/README.md): upstream's pulumi-NAME
# provider modules are refused here.
build_bridged() {
  local scratch
  scratch=$(mktemp -d "$dir/build.XXXXXX")
  bash engine/build-plugin.sh "$1" "${wanted[$1]}" "$scratch" &&
    PULUMI_HOME="$dir/home" PULUMI_SKIP_UPDATE_CHECK=true "$dir/bin/pulumi" plugin install resource "$1" "${wanted[$1]}" -f "$scratch/pulumi-resource-$1"
  local status=$?
  rm -rf "$scratch"
  return "$status"
}
for name in openstack random tls docker; do
  step "pulumi-resource-$name ${wanted[$name]}" "$(installed "$name")" build_bridged "$name" ||
    unavailable "$name" "the modules engine/$name/go.mod names"
done

# Holodeck's own command plugin (engine/command/README.md; upstream's provider module is refused
# here): its hand-written schema is checked against the Node SDK, then the plugin is built.
build_command() {
  local scratch tokens
  scratch=$(mktemp -d "$dir/build.XXXXXX")
  mapfile -t tokens < <(grep -v '^#' engine/command/checked-tokens)
  node engine/check-sdk.mjs engine/command/schema.json node_modules/@pulumi/command "${tokens[@]}" &&
    (cd engine/command && go build -trimpath -ldflags "-s -w -X main.version=${wanted[command]}" -o "$scratch/pulumi-resource-command" .) &&
    PULUMI_HOME="$dir/home" PULUMI_SKIP_UPDATE_CHECK=true "$dir/bin/pulumi" plugin install resource command "${wanted[command]}" -f "$scratch/pulumi-resource-command"
  local status=$?
  rm -rf "$scratch"
  return "$status"
}
step "pulumi-resource-command ${wanted[command]} (Holodeck's own)" "$(installed command)" build_command ||
  unavailable command "the modules engine/command/go.mod names"

if [[ -s $dir/unavailable ]]; then
  say "not built: $(cut -d' ' -f1,2 "$dir/unavailable" | paste -sd, - | sed 's/,/, /g'): their Go modules are not to be had here (see $dir/unavailable); previews of programs that use them cannot run with this engine"
fi
if ((built == 0)); then say "up to date: $dir ($(du -sh "$dir" | cut -f1))"; else say "done: $dir ($(du -sh "$dir" | cut -f1))"; fi
echo "$dir/bin"
