#!/usr/bin/env bash
# gofmt and go vet on Holodeck's own Go code (engine/): the language host and the OpenStack bridge.
set -euo pipefail
cd "$(dirname "$0")/../engine"

unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
  echo "lint-go: not gofmt-formatted (run gofmt -w): $unformatted" >&2
  exit 1
fi
(cd cli && go vet ./language-nodejs)
# The plugin's main embeds files that engine/openstack/build.sh generates when it builds it.
(cd openstack && go vet . ./cmd/pulumi-tfgen-openstack ./plugintest)
