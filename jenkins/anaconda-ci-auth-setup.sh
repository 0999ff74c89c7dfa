#!/usr/bin/env bash
# Jenkins step: validate the Anaconda API key bound by withCredentials and write this build's job
# directory (keyring, condarc, env.sh) at the fixed path later `sh` steps load it from.
# Prints the `export` lines on stdout, so one step can also `env="$(.../anaconda-ci-auth-setup.sh)"`
# and `eval "${env}"` (not `eval "$(...)"` in one line: its status is 0 even when setup fails).
# Extra arguments go to `anaconda-ci-auth setup` (e.g. --channel, --validate, --mode, --clients,
# --accept-tos); ANACONDA_CI_AUTH_API_URL, when set, becomes --api-url, and
# ANACONDA_CI_AUTH_WHEELS_INDEX_MODE --wheels-index-mode. The binary itself reads
# ANACONDA_CI_AUTH_CLIENTS, ANACONDA_CI_AUTH_ACCEPT_TOS and ANACONDA_CI_AUTH_WHEELS_INDEX.
# The key is read from ANACONDA_AUTH_API_KEY (or the variable named by ANACONDA_CI_AUTH_KEY_ENV);
# masking it in the console log is the credentials-binding plugin's job.
set -euo pipefail
{ set +x; } 2>/dev/null

# shellcheck source=SCRIPTDIR/anaconda-ci-auth-lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/anaconda-ci-auth-lib.sh"

main() {
  local key_env="${ANACONDA_CI_AUTH_KEY_ENV:-ANACONDA_AUTH_API_KEY}" dir bin
  if [[ ! "${key_env}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "anaconda-ci-auth: error: ANACONDA_CI_AUTH_KEY_ENV must be a variable name, not a key" >&2
    exit 2
  fi
  if [[ -z "${!key_env:-}" ]]; then
    echo "anaconda-ci-auth: error: ${key_env} is not set: run this step inside" \
      "withCredentials([string(credentialsId: '...', variable: '${key_env}')])" >&2
    exit 3
  fi
  dir="$(anaconda_ci_auth_dir)"
  bin="$(anaconda_ci_auth_bin)"
  local -a args=(setup --ci jenkins --dir "${dir}" --api-key-env "${key_env}" --print-env sh)
  if [[ -n "${ANACONDA_CI_AUTH_API_URL:-}" ]]; then
    args+=(--api-url "${ANACONDA_CI_AUTH_API_URL}")
  fi
  if [[ -n "${ANACONDA_CI_AUTH_WHEELS_INDEX_MODE:-}" ]]; then
    args+=(--wheels-index-mode "${ANACONDA_CI_AUTH_WHEELS_INDEX_MODE}")
  fi
  "${bin}" "${args[@]}" "$@"
  echo "anaconda-ci-auth: later steps load the environment with: . ${dir}/env.sh" >&2
}

main "$@"
