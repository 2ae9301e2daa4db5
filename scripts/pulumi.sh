#!/usr/bin/env bash
# Runs any pulumi command with the engine built here (scripts/engine.sh), offline and local: no
# update check, no plugin downloads, state in a file backend, secrets under a passphrase. Usage:
# `npm run pulumi -- preview -s test` (or `bash scripts/pulumi.sh preview -s test`).
#
# Defaults, each kept when already set: PULUMI_BACKEND_URL=file://<repo>/.holodeck/state and a
# passphrase made once in .holodeck/passphrase (mode 0600; back it up with the state, or set
# PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE yourself).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(bash scripts/engine.sh | tail -n 1)
export PATH="$bin:$PATH"
export PULUMI_HOME="${bin%/bin}/home"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

if [[ -z ${PULUMI_BACKEND_URL:-} ]]; then
  mkdir -p .holodeck/state
  export PULUMI_BACKEND_URL="file://$PWD/.holodeck/state"
fi
if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
  passphrase=.holodeck/passphrase
  if [[ ! -s $passphrase ]]; then
    mkdir -p .holodeck
    (umask 077 && head -c 32 /dev/urandom | base64 >"$passphrase")
    echo "pulumi: made a passphrase for this checkout's stacks in $passphrase (keep it with .holodeck/state)" >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/$passphrase"
fi

exec pulumi "$@"
