#!/usr/bin/env bash
# Run inside a test workflow after an action step with continue-on-error that must have failed:
# the step's outcome is failure, it set no outputs or variables, and it created no job directory.
# Usage: bash tests/github/check-failed.sh MARKER   (MARKER: a file in RUNNER_TEMP made before the step)
set -euo pipefail

fail() {
  echo "check-failed: $*" >&2
  exit 1
}

# unix_path PATH: the path with forward slashes (Windows paths through cygpath).
unix_path() {
  if command -v cygpath >/dev/null 2>&1; then
    cygpath -u "$1"
  else
    printf '%s\n' "$1"
  fi
}

main() {
  local temp marker left
  temp="$(unix_path "${RUNNER_TEMP}")"
  marker="${temp}/$1"
  [[ "${OUTCOME}" == failure ]] || fail "the action step's outcome is \`${OUTCOME}\`, expected failure"
  [[ -z "${OUT_DIR}" ]] || fail "a failed setup set the dir output"
  [[ -z "${ANACONDA_CI_AUTH_STATE:-}" && -z "${ANACONDA_AUTH_KEYRING_PATH:-}" && -z "${CONDARC:-}" ]] ||
    fail "a failed setup exported variables"
  [[ -f "${marker}" ]] || fail "the marker ${marker} is missing"
  left="$(find "${temp}" -maxdepth 1 -name 'anaconda-ci-auth-*' -newer "${marker}")"
  [[ -z "${left}" ]] || fail "a failed setup left a job directory: ${left}"
  echo "check-failed: the action failed and left nothing behind"
}

main "$@"
