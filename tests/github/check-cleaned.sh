#!/usr/bin/env bash
# Run inside a test workflow after the cleanup sub-action: the job directory (keyring, condarc,
# key file, state) is gone.
# Usage: bash tests/github/check-cleaned.sh   (OUT_DIR: the action's dir output)
set -euo pipefail

fail() {
  echo "check-cleaned: $*" >&2
  exit 1
}

main() {
  [[ -n "${OUT_DIR}" ]] || fail "no dir output to check"
  [[ ! -e "${OUT_DIR}" ]] || fail "the job directory still exists: $(ls -A "${OUT_DIR}")"
  [[ ! -e "${ANACONDA_AUTH_KEYRING_PATH}" ]] || fail "the keyring still exists"
  [[ ! -e "${CONDARC}" ]] || fail "the condarc still exists"
  [[ ! -e "${ANACONDA_CI_AUTH_STATE}" ]] || fail "the state file still exists"
  echo "check-cleaned: the job directory and its files are gone"
}

main "$@"
