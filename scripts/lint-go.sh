#!/usr/bin/env bash
# gofmt and go vet on Holodeck's own Go code (engine/): the language host and the bridged plugins.
set -euo pipefail
cd "$(dirname "$0")/../engine"

unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
  echo "lint-go: not gofmt-formatted (run gofmt -w): $unformatted" >&2
  exit 1
fi
(cd cli && go vet ./language-nodejs)
# Each plugin's main embeds files that engine/build-plugin.sh generates when it builds it.
for plugin in openstack random tls docker; do
  (cd "$plugin" && go vet . "./cmd/pulumi-tfgen-$plugin")
done
(cd plugintest && go vet ./...)
