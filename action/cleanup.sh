#!/usr/bin/env bash
# The cleanup sub-action's step: run `anaconda-ci-auth cleanup` for the setup recorded in
# $ANACONDA_CI_AUTH_STATE. Succeeds when there is nothing to clean (setup failed or never ran),
# so it is safe under `if: always()`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=action/common.sh
. "${here}/common.sh"

# The binary given as input, else the one the main action installed into $RUNNER_TEMP, else one on
# PATH.
find_binary() {
  local candidate
  if [[ -n "${ANACONDA_CI_AUTH_INPUT_BINARY_PATH:-}" ]]; then
    if command -v cygpath >/dev/null 2>&1; then
      cygpath -u "${ANACONDA_CI_AUTH_INPUT_BINARY_PATH}"
    else
      printf '%s\n' "${ANACONDA_CI_AUTH_INPUT_BINARY_PATH}"
    fi
    return
  fi
  for candidate in "${RUNNER_TEMP:-}/anaconda-ci-auth.bin/bin/anaconda-ci-auth" \
    "${RUNNER_TEMP:-}/anaconda-ci-auth.bin/bin/anaconda-ci-auth.exe"; do
    if [[ -n "${RUNNER_TEMP:-}" && -x "${candidate}" ]]; then
      printf '%s\n' "${candidate}"
      return
    fi
  done
  command -v anaconda-ci-auth 2>/dev/null || true
}

main() {
  local bin
  if [[ -z "${ANACONDA_CI_AUTH_STATE:-}" ]]; then
    echo "anaconda-ci-auth: nothing to clean up (no setup ran in this job, or it failed before writing anything)"
    return 0
  fi
  bin="$(find_binary)"
  if [[ -n "${bin}" && ! -x "${bin}" ]]; then
    die "input \`binary-path\` is not an executable file" "pass the main action's \`binary-path\` output, or leave it empty" 1
  fi
  if [[ -z "${bin}" ]]; then
    die "cannot find the anaconda-ci-auth binary to clean up ${ANACONDA_CI_AUTH_STATE}" \
      "run this after the anaconda-ci-auth action in the same job, or put anaconda-ci-auth on PATH" 1
  fi
  exec "${bin}" cleanup --ci github
}

main "$@"
