#!/usr/bin/env bash
# The GitHub Action's setup (run by action/main.js): turn the validated inputs into flags and run
# `anaconda-ci-auth setup`. The key stays in ANACONDA_CI_AUTH_INPUT_API_KEY, which the binary reads
# by name (--api-key-env); this script only checks that it is not empty and never prints it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=action/common.sh
. "${here}/common.sh"

readonly key_var=ANACONDA_CI_AUTH_INPUT_API_KEY

check_inputs() {
  check_input DOMAIN '^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?)?$' 'empty or a domain like anaconda.com'
  check_input MODE '^(keyring|env|both)$' 'keyring, env or both'
  check_input VALIDATE '^(online|offline|none)?$' 'empty, online, offline or none'
  check_input API_URL '^(https?://[^[:space:]]+)?$' 'empty or a URL like https://anaconda.com'
  check_input REGISTER '^(true|false)?$' 'empty, true or false'
  check_input MIN_VALIDITY '^([0-9]+[smhdw])?$' 'empty or a duration with a unit (s, m, h, d or w): add a unit, e.g. 7d'
  check_input ALLOW_UNTRUSTED_TRIGGER '^(true|false)?$' 'empty, true or false'
  check_input SUMMARY '^(true|false)?$' 'empty, true or false'
  check_input CLIENTS '^([A-Za-z]+( *, *[A-Za-z]+)*)?$' 'empty or a comma-separated list like conda,pixi'
  check_input ACCEPT_TOS '^(true|false)?$' 'empty, true or false'
  check_input WHEELS_INDEX '^(https?://[^[:space:]]+)?$' 'empty or a URL like https://repo.anaconda.cloud/repo/anaconda-wheels/simple'
  check_input WHEELS_INDEX_MODE '^(primary|extra)?$' 'empty, primary or extra'
  [[ -n "${ANACONDA_CI_AUTH_BIN:-}" && -x "${ANACONDA_CI_AUTH_BIN}" ]] ||
    die "the anaconda-ci-auth binary from the install step is missing" "" 1
  if [[ -z "${!key_var:-}" ]]; then
    die "input \`api-key\` is empty" \
      "pass it from a secret: \`api-key: \${{ secrets.ANACONDA_API_KEY }}\`; secrets are not available to pull_request workflows from forks" 3
  fi
}

# One --channel flag per non-empty, non-comment line of the `channels` input.
channel_args() {
  local line
  while IFS= read -r line || [[ -n "${line}" ]]; do
    line="${line%$'\r'}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [[ -z "${line}" || "${line}" == \#* ]] && continue
    if [[ ! "${line}" =~ ^[^[:space:]]+$ ]]; then
      die "input \`channels\`: \`$(shown "${line}")\` is not one pattern" "write one PATTERN or PATTERN=AUTH_DOMAIN per line"
    fi
    args+=(--channel "${line}")
  done <<<"${ANACONDA_CI_AUTH_INPUT_CHANNELS:-}"
}

main() {
  check_inputs
  args=(setup --ci github --api-key-env "${key_var}" --mode "${ANACONDA_CI_AUTH_INPUT_MODE}")
  # Empty inputs pass nothing, so the job's ANACONDA_CI_AUTH_* variables still apply.
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_DOMAIN}" ]]; then
    args+=(--domain "${ANACONDA_CI_AUTH_INPUT_DOMAIN}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_VALIDATE}" ]]; then
    args+=(--validate "${ANACONDA_CI_AUTH_INPUT_VALIDATE}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_API_URL}" ]]; then
    args+=(--api-url "${ANACONDA_CI_AUTH_INPUT_API_URL}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_MIN_VALIDITY}" ]]; then
    args+=(--min-validity "${ANACONDA_CI_AUTH_INPUT_MIN_VALIDITY}")
  fi
  if [[ "${ANACONDA_CI_AUTH_INPUT_REGISTER}" == "true" ]]; then
    args+=(--register)
  fi
  case "${ANACONDA_CI_AUTH_INPUT_ALLOW_UNTRUSTED_TRIGGER}" in
    true) args+=(--allow-untrusted-trigger) ;;
    # An explicit `false` wins over the job's ANACONDA_CI_AUTH_ALLOW_UNTRUSTED.
    false) unset ANACONDA_CI_AUTH_ALLOW_UNTRUSTED ;;
  esac
  case "${ANACONDA_CI_AUTH_INPUT_SUMMARY}" in
    false) args+=(--no-summary) ;;
    # An explicit `true` wins over the job's ANACONDA_CI_AUTH_SUMMARY.
    true) unset ANACONDA_CI_AUTH_SUMMARY ;;
  esac
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_CLIENTS:-}" ]]; then
    args+=(--clients "${ANACONDA_CI_AUTH_INPUT_CLIENTS// /}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX:-}" ]]; then
    args+=(--wheels-index "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX_MODE:-}" ]]; then
    args+=(--wheels-index-mode "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX_MODE}")
  fi
  case "${ANACONDA_CI_AUTH_INPUT_ACCEPT_TOS:-}" in
    true) args+=(--accept-tos) ;;
    # An explicit `false` wins over the job's ANACONDA_CI_AUTH_ACCEPT_TOS.
    false) unset ANACONDA_CI_AUTH_ACCEPT_TOS ;;
  esac
  channel_args
  exec "${ANACONDA_CI_AUTH_BIN}" "${args[@]}"
}

main "$@"
