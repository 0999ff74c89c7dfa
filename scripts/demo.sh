#!/usr/bin/env bash
# An offline walk through the main job with a throw-away key: no Anaconda account and no network.
# Builds the binary, makes an unsigned JWT that expires in 30 days, then runs setup, status, exec
# and cleanup the way a CI job would.
# Usage: scripts/demo.sh [BINARY]   (BINARY: an installed anaconda-ci-auth to walk through instead of
# building this checkout, e.g. the one a wheel or conda package put on PATH)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if (($# > 1)); then
  echo "usage: scripts/demo.sh [BINARY]" >&2
  exit 2
fi
if (($#)); then
  bin="$(command -v "$1")" || {
    echo "demo: $1 is not an executable" >&2
    exit 2
  }
else
  (cd "${root}" && cargo build --locked --quiet)
  bin="${root}/target/debug/anaconda-ci-auth"
fi

b64url() { base64 | tr -d '\n=' | tr '+/' '-_'; }
exp=$(($(date +%s) + 30 * 86400))
header="$(printf '%s' '{"alg":"RS256","kid":"default","typ":"JWT"}' | b64url)"
payload="$(printf '{"exp":%s,"sub":"d04c356b-afd2-4b3e-80f2-403113e0974b"}' "${exp}" | b64url)"
# The CI secret, under a name anaconda-auth does not read itself. Only the name is passed on.
DEMO_ANACONDA_KEY="${header}.${payload}.$(printf 'throw-away' | b64url)"
export DEMO_ANACONDA_KEY

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
export TMPDIR="${work}"

echo "== setup (offline validation; the key is never printed)"
"${bin}" setup --ci none --api-key-env DEMO_ANACONDA_KEY --validate offline --json >"${work}/setup.json"
cat "${work}/setup.json"
dir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dir"])' "${work}/setup.json")"

echo "== later step: load the environment and inspect it"
# shellcheck disable=SC1091
. "${dir}/env.sh"
"${bin}" status
echo "condarc (${CONDARC}):"
cat "${CONDARC}"
echo "keyring: $(wc -c <"${ANACONDA_AUTH_KEYRING_PATH}") bytes, mode $(stat -c %a "${ANACONDA_AUTH_KEYRING_PATH}")"

echo "== exec: a command that tries to print the key gets it scrubbed"
# shellcheck disable=SC2016  # the child's shell expands it
"${bin}" exec --ci none --api-key-env DEMO_ANACONDA_KEY --validate offline --mode env -- sh -c 'echo "child sees: ${ANACONDA_AUTH_API_KEY}"'

echo "== cleanup"
"${bin}" cleanup
if [[ -e "${dir}" ]]; then
  echo "demo: ${dir} still exists" >&2
  exit 1
fi
echo "demo: ${dir} removed; done"
