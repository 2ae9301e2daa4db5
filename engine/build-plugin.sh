#!/usr/bin/env bash
# Builds one of Holodeck's bridged resource plugins (engine/NAME: a Terraform provider under
# pulumi-terraform-bridge, see its README.md) into OUT_DIR, reporting VERSION, the version the
# Node SDK @pulumi/NAME asks for.
#
#   engine/build-plugin.sh NAME VERSION OUT_DIR
#
# Steps: build engine/NAME's tfgen, let it write schema.json and bridge-metadata.json into a
# scratch dir, check that schema against the installed Node SDK (strictly for the tokens listed in
# engine/NAME/checked-tokens, the ones the program uses), then build the plugin with both files
# embedded (through -overlay, so nothing generated lands in the source tree).
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 NAME VERSION OUT_DIR" >&2
  exit 2
fi
name=$1 version=$2 out_dir=$3
engine=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$engine/$name
sdk_dir=$engine/../node_modules/@pulumi/$name
mapfile -t tokens < <(grep -v '^#' "$src/checked-tokens")

started=$SECONDS
step() { echo "$name plugin: $* ($((SECONDS - started)) s)" >&2; }
fail() { echo "$name plugin: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/$name-plugin.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir" "$work/gen"
ldflags="-s -w -X main.version=$version"
cd "$src"

step "building tfgen (the first build compiles the provider and the bridge: minutes)"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/pulumi-tfgen-$name" "./cmd/pulumi-tfgen-$name" ||
  fail "go build of $src/cmd/pulumi-tfgen-$name failed; the modules are pinned in $src/go.mod (go mod download -x shows which one the proxy refuses)"

step "generating the schema"
if ! "$work/pulumi-tfgen-$name" schema --out "$work/gen" --skip-docs --skip-examples >"$work/tfgen.log" 2>&1; then
  cat "$work/tfgen.log" >&2
  fail "tfgen failed (log above): a Terraform resource without a token in $src/provider.go?"
fi

step "checking the schema against $sdk_dir"
if ! node "$engine/check-sdk.mjs" "$work/gen/schema.json" "$sdk_dir" "${tokens[@]}" 2>"$work/check.log"; then
  grep -v '^note:' "$work/check.log" >&2
  fail "the schema differs from the SDK in $sdk_dir (MISMATCH lines above; all differences: node engine/check-sdk.mjs SCHEMA SDK_DIR)"
fi
tail -n 1 "$work/check.log" >&2

step "building pulumi-resource-$name $version"
printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' \
  "$src/cmd/pulumi-resource-$name/schema.json" "$work/gen/schema.json" \
  "$src/cmd/pulumi-resource-$name/bridge-metadata.json" "$work/gen/bridge-metadata.json" >"$work/overlay.json"
CGO_ENABLED=0 go build -trimpath -overlay "$work/overlay.json" -ldflags "$ldflags" \
  -o "$out_dir/pulumi-resource-$name" "./cmd/pulumi-resource-$name"

reported=$("$out_dir/pulumi-resource-$name" -version)
[[ $reported == "$version" ]] || fail "the built plugin reports version '$reported', expected '$version'"
step "done: $out_dir/pulumi-resource-$name"
