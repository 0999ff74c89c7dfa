#!/usr/bin/env bash
# Buildkite plugin suite: the hooks with the real binary, a recording fake buildkite-agent (and a
# bats-mock stub), a fake Anaconda API and a release mirror on 127.0.0.1, the real anaconda-auth
# loading the key; plugin.yml, README examples, shellcheck, yamllint. Ends with
# `buildkite: N passed, N failed` counted from bats' TAP output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

name=buildkite
bats=tests/node/node_modules/bats/bin/bats
tap="$(mktemp)"
trap 'rm -f "${tap}"' EXIT

status=0
if [[ ! -x "${bats}" ]]; then
  echo "${name}: bats is missing (${bats}); run tests/bootstrap.sh" >&2
  echo "not ok 1 bats is installed" >"${tap}"
  status=1
else
  timeout 900 "${bats}" --tap tests/buildkite | tee "${tap}" || status=$?
fi

# A skipped test counts as failed: a missing tool is a failure here.
passed="$(grep -cE '^ok [0-9]+' "${tap}" || true)"
skipped="$(grep -cE '^ok [0-9]+ .*# skip' "${tap}" || true)"
failed="$(grep -cE '^not ok [0-9]+' "${tap}" || true)"
passed=$((passed - skipped))
failed=$((failed + skipped))
if ((status != 0 && failed == 0)); then
  failed=1 # bats itself failed (timeout, syntax error) without reporting a failing test
fi
echo "${name}: ${passed} passed, ${failed} failed"
((failed == 0))
