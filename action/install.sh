#!/usr/bin/env bash
# First step of the GitHub Action: get the anaconda-ci-auth binary with scripts/install-binary.sh
# and publish its path as the step output `path`. This step never has the key in its environment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=action/common.sh
. "${here}/common.sh"

main() {
  local bin
  check_input INSTALL '^(download|source|path)$' 'download, source or path'
  check_input VERSION '^(v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?)?$' 'empty (this action'"'"'s version) or a release like 0.1.0'
  [[ -n "${GITHUB_OUTPUT:-}" ]] || die "GITHUB_OUTPUT is not set; this script runs as a step of the GitHub Action"

  bin="$(bash "${here}/../scripts/install-binary.sh" "${ANACONDA_CI_AUTH_INPUT_INSTALL}" "${ANACONDA_CI_AUTH_INPUT_VERSION}")" ||
    exit 1
  printf 'path=%s\n' "${bin}" >>"${GITHUB_OUTPUT}"
}

main "$@"
