#!/usr/bin/env bash
# Makes a throw-away, unsigned Anaconda-style API key for testing the action on real GitHub runners
# (Linux, macOS and Windows Git Bash): it is worthless outside offline validation. Masks it, then
# exports it to later steps as ANACONDA_CI_AUTH_TEST_KEY (through $GITHUB_ENV, read with
# `${{ env.ANACONDA_CI_AUTH_TEST_KEY }}`) and writes the step output `sha256` (its SHA-256, for
# comparing without printing it). Not a step output: the runner drops outputs that hold a masked
# value ("Skip output 'key' since it may contain secret"), so later steps would get an empty key.
# Usage: bash tests/github/make-test-key.sh valid|expired
set -euo pipefail

b64url() { base64 | tr -d '\n=' | tr '+/' '-_'; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d ' ' -f 1
  else
    shasum -a 256 | cut -d ' ' -f 1
  fi
}

main() {
  local exp header payload key
  case "${1:-}" in
    valid) exp=$(($(date +%s) + 30 * 86400)) ;;
    expired) exp=1689088786 ;;
    *)
      echo "usage: make-test-key.sh valid|expired" >&2
      exit 2
      ;;
  esac
  header="$(printf '%s' '{"alg":"RS256","kid":"default","typ":"JWT"}' | b64url)"
  payload="$(printf '{"exp":%s,"sub":"d04c356b-afd2-4b3e-80f2-403113e0974b","nonce":"%s%s"}' \
    "${exp}" "${RANDOM}" "${RANDOM}" | b64url)"
  key="${header}.${payload}.$(printf 'throw-away' | b64url)"
  # The mask command is the only place the value is printed.
  printf '::add-mask::%s\n' "${key}"
  printf 'ANACONDA_CI_AUTH_TEST_KEY=%s\n' "${key}" >>"${GITHUB_ENV}"
  printf 'sha256=%s\n' "$(printf '%s' "${key}" | sha256)" >>"${GITHUB_OUTPUT}"
}

main "$@"
