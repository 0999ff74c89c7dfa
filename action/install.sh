#!/usr/bin/env bash
# The GitHub Action's install (run by action/main.js): get the anaconda-ci-auth binary with
# scripts/install-binary.sh and write its path as `path` (and `native-path`) to $GITHUB_OUTPUT,
# which main.js points at a private file. This step never has the key in its environment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=action/common.sh
. "${here}/common.sh"

main() {
  local bin native
  check_input INSTALL '^(download|pip|conda|source|path)$' 'download, pip, conda, source or path'
  check_input VERSION '^(v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?)?$' 'empty (this action'"'"'s version) or a release like 0.1.0'
  [[ -n "${GITHUB_OUTPUT:-}" ]] || die "GITHUB_OUTPUT is not set; this script runs as a step of the GitHub Action"

  bin="$(bash "${here}/../scripts/install-binary.sh" "${ANACONDA_CI_AUTH_INPUT_INSTALL}" "${ANACONDA_CI_AUTH_INPUT_VERSION}")" ||
    exit 1
  # `path` is for the next bash step; `native-path` is the same file as the OS names it (a
  # Windows path on Windows runners), for the action's binary-path output.
  native="${bin}"
  if command -v cygpath >/dev/null 2>&1; then
    native="$(cygpath -w "${bin}")"
  fi
  {
    printf 'path=%s\n' "${bin}"
    printf 'native-path=%s\n' "${native}"
  } >>"${GITHUB_OUTPUT}"
}

main "$@"
