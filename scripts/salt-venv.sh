#!/usr/bin/env bash
# Makes the Salt virtualenv the tests run real Salt from (salt-call, salt-key), from
# scripts/salt-requirements.txt (pinned, hashed), with Debian's /usr/bin/python3, in
# $HOLODECK_SALT_VENV (default ~/.cache/holodeck/salt-<hash of the requirements>). Returns at once
# when it is there. Prints nothing on success; the venv's path is what saltVenv() in tools/saltRender.ts computes too.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/salt-requirements.txt
build_requirements=scripts/salt-build-requirements.txt
digest=$(cat "$build_requirements" "$requirements" | sha256sum | cut -c1-12)
venv=${HOLODECK_SALT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/holodeck/salt-$digest}
[[ -x $venv/bin/salt-call && -f $venv/.complete ]] && exit 0

# timelib (a Salt requirement) is a C extension built from its sdist.
for need in /usr/include/python3.11/Python.h /usr/bin/gcc; do
  [[ -e $need ]] || { echo "setup: error: $need is missing: apt-get install python3-dev gcc (to build Salt's timelib)" >&2; exit 2; }
done
echo "setup: creating the Salt virtualenv in $venv" >&2
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
# Hermetic: none of the machine's pip settings (index, find-links, constraints) apply.
while IFS= read -r variable; do unset "$variable"; done < <(compgen -e | grep '^PIP_' || true)
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
# Salt and timelib come as sdists: they build without isolation, with pinned build requirements,
# so no unhashed build dependency is fetched.
"$venv/bin/pip" install -q --require-hashes --no-deps -r "$build_requirements"
"$venv/bin/pip" install -q --require-hashes --no-deps --no-build-isolation -r "$requirements"
touch "$venv/.complete"
