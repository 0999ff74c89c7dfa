#!/usr/bin/env bash
# Jenkins step for `post { always { ... } }`: removes this build's job directory (keyring, condarc,
# key file, env.sh, state) written by anaconda-ci-auth-setup.sh, and any directory of a one-step
# setup of this build that was left behind. Idempotent, safe when setup never ran, and fails
# loudly if something could not be removed.
set -euo pipefail
{ set +x; } 2>/dev/null

# shellcheck source=SCRIPTDIR/anaconda-ci-auth-lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/anaconda-ci-auth-lib.sh"

main() {
  local dir bin status=0
  dir="$(anaconda_ci_auth_dir)"
  bin="$(anaconda_ci_auth_bin)"
  if [[ -e "${dir}" ]]; then
    "${bin}" cleanup --ci jenkins --dir "${dir}" || status=$?
  else
    echo "anaconda-ci-auth: nothing to clean up at ${dir}" >&2
  fi
  # Directories of one-step setups (`anaconda-ci-auth setup --print-env sh`, evaluated) whose shell
  # was killed before its own cleanup ran: found under $TMPDIR by the BUILD_TAG they recorded.
  # --sweep also removes job directories of earlier builds of this workspace older than 24 hours.
  "${bin}" cleanup --ci jenkins --sweep --sweep-dir "$(dirname "${dir}")" || status=$?
  if ((status != 0)); then
    # The step ends with cleanup's own exit code (README "Exit codes").
    echo "anaconda-ci-auth: error: cleanup failed with exit code ${status}; remove ${dir} and \$TMPDIR/anaconda-ci-auth-* of this build by hand" >&2
    exit "${status}"
  fi
}

main "$@"
