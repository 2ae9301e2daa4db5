#!/usr/bin/env bash
# Builds pulumi-resource-tls (the bridged Terraform TLS provider, see go.mod and README.md) into
# OUT_DIR, reporting the version that @pulumi/tls asks for.
#
#   engine/tls/build.sh OUT_DIR
#
# Steps: build our tfgen, let it write schema.json and bridge-metadata.json into a scratch dir,
# check that schema against the installed Node SDK, then build the plugin with both files
# embedded (through -overlay, so nothing generated lands in the source tree).
# Environment: TLS_PLUGIN_VERSION (default 5.6.1), TLS_SDK_DIR (the Node SDK to
# check against; default the repo's node_modules/@pulumi/tls; empty skips the check),
# TLS_CHECK_TOKENS (tokens the program uses: checked strictly; default below).
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage

out_dir=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=${TLS_PLUGIN_VERSION:-5.6.1}
sdk_dir=${TLS_SDK_DIR-$src/../../node_modules/@pulumi/tls}
tokens=${TLS_CHECK_TOKENS:-"tls:index/privateKey:PrivateKey"}

start=$SECONDS
step() { echo "tls plugin: $* ($((SECONDS - start)) s)" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tls-plugin.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir" "$work/gen"
ldflags="-s -w -X main.version=$version"

cd "$src"
step "building tfgen (first build compiles the provider and the bridge: minutes)"
if ! CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/pulumi-tfgen-tls" ./cmd/pulumi-tfgen-tls; then
    echo "tls plugin: go build of $src/cmd/pulumi-tfgen-tls failed; the modules are pinned in $src/go.mod (go mod download -x shows which one the proxy refuses)" >&2
    exit 1
fi

step "generating the schema"
if ! "$work/pulumi-tfgen-tls" schema --out "$work/gen" --skip-docs --skip-examples >"$work/tfgen.log" 2>&1; then
    cat "$work/tfgen.log" >&2
    echo "tls plugin: tfgen failed (log above): a Terraform resource without a token in $src/provider.go?" >&2
    exit 1
fi

if [ -n "$sdk_dir" ]; then
    step "checking the schema against $sdk_dir"
    # shellcheck disable=SC2086 # the token list is meant to split
    if ! node "$src/check-sdk.mjs" "$work/gen/schema.json" "$sdk_dir" $tokens 2>"$work/check.log"; then
        grep -v '^note:' "$work/check.log" >&2
        echo "tls plugin: the schema differs from the SDK in $sdk_dir (MISMATCH lines above; full report: node $src/check-sdk.mjs SCHEMA SDK_DIR)" >&2
        exit 1
    fi
    tail -n 1 "$work/check.log" >&2
fi

step "building pulumi-resource-tls $version"
printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' \
    "$src/cmd/pulumi-resource-tls/schema.json" "$work/gen/schema.json" \
    "$src/cmd/pulumi-resource-tls/bridge-metadata.json" "$work/gen/bridge-metadata.json" >"$work/overlay.json"
CGO_ENABLED=0 go build -trimpath -overlay "$work/overlay.json" -ldflags "$ldflags" \
    -o "$out_dir/pulumi-resource-tls" ./cmd/pulumi-resource-tls

reported=$("$out_dir/pulumi-resource-tls" -version)
if [ "$reported" != "$version" ]; then
    echo "tls plugin: the built plugin reports version '$reported', expected '$version'" >&2
    exit 1
fi
step "done: $out_dir/pulumi-resource-tls"
