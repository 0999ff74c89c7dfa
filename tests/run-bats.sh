#!/usr/bin/env bash
# Runs one folder of bats tests and ends with `NAME: N passed, N failed`, counted from bats' TAP
# output (a skipped test counts as failed: a missing tool is a failure here).
# Usage: tests/run-bats.sh NAME DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

name="$1"
dir="$2"
bats=tests/node/node_modules/bats/bin/bats
tap="$(mktemp)"
trap 'rm -f "${tap}"' EXIT

status=0
if [[ ! -x "${bats}" ]]; then
  echo "${name}: bats is missing (${bats}); run tests/bootstrap.sh" >&2
  echo "not ok 1 bats is installed" >"${tap}"
  status=1
else
  timeout 900 "${bats}" --tap "${dir}" | tee "${tap}" || status=$?
fi

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
