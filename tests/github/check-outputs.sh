#!/usr/bin/env bash
# Run inside a test workflow after the action: the outputs (OUT_* variables mapped from
# steps.<id>.outputs) are set and agree with the variables the action exported. Portable to the
# Linux, macOS and Windows (Git Bash) runners; file modes are not checked on Windows.
# Usage: bash tests/github/check-outputs.sh keyring|env|both   (EXPECT_USERNAME optional)
set -euo pipefail

fail() {
  echo "check-outputs: $*" >&2
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

# check_mode PATH MODE: the file's permission bits are MODE (skipped on Windows).
check_mode() {
  local got
  case "$(uname -s)" in
    Linux) got="$(stat -c %a "$1")" ;;
    Darwin) got="$(stat -f %Lp "$1")" ;;
    *) return 0 ;;
  esac
  [[ "${got}" == "$2" ]] || fail "$1 has mode ${got}, expected $2"
}

check_common() {
  [[ -d "${OUT_DIR}" ]] || fail "output dir is not a directory"
  [[ "$(unix_path "${OUT_DIR}")" == "$(unix_path "${RUNNER_TEMP}")"/* ]] || fail "the job directory is not under RUNNER_TEMP"
  check_mode "${OUT_DIR}" 700
  [[ "${OUT_CONDARC}" == "${CONDARC:-}" && -f "${OUT_CONDARC}" ]] || fail "condarc-path does not match CONDARC"
  [[ "${OUT_STATE}" == "${ANACONDA_CI_AUTH_STATE:-}" && -f "${OUT_STATE}" ]] || fail "state-path does not match ANACONDA_CI_AUTH_STATE"
  [[ "${OUT_FINGERPRINT}" =~ ^sha256:[0-9a-f]{16}$ ]] || fail "fingerprint is \`${OUT_FINGERPRINT}\`"
  [[ "${OUT_EXPIRES}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] || fail "expires-at is \`${OUT_EXPIRES}\`"
  [[ "${OUT_USERNAME}" == "${EXPECT_USERNAME:-}" ]] || fail "username is \`${OUT_USERNAME}\`, expected \`${EXPECT_USERNAME:-}\`"
  [[ -x "$(unix_path "${OUT_BINARY}")" ]] || fail "binary-path is not executable"
  [[ "${ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY:-}" == true ]] || fail "ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY is not exported"
}

check_keyring() {
  [[ "${OUT_KEYRING}" == "${ANACONDA_AUTH_KEYRING_PATH:-}" && -f "${OUT_KEYRING}" ]] || fail "keyring-path does not match ANACONDA_AUTH_KEYRING_PATH"
  check_mode "${OUT_KEYRING}" 600
}

check_env() {
  [[ -n "${ANACONDA_AUTH_API_KEY:-}" ]] || fail "ANACONDA_AUTH_API_KEY is not exported"
}

main() {
  check_common
  case "$1" in
    keyring)
      check_keyring
      [[ -z "${ANACONDA_AUTH_API_KEY+set}" ]] || fail "keyring mode exported ANACONDA_AUTH_API_KEY"
      ;;
    env)
      check_env
      [[ -z "${OUT_KEYRING}" && -z "${ANACONDA_AUTH_KEYRING_PATH:-}" ]] || fail "env mode configured a keyring"
      ;;
    both)
      check_keyring
      check_env
      ;;
    *) fail "unknown mode $1" ;;
  esac
  if [[ -n "${EXPECT_CHANNEL:-}" ]]; then
    grep -qF -- "${EXPECT_CHANNEL}" "${CONDARC}" || fail "the condarc does not route ${EXPECT_CHANNEL}"
  fi
  echo "check-outputs: all outputs are set and consistent (${1} mode)"
}

main "$@"
