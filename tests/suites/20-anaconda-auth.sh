#!/usr/bin/env bash
# Compatibility with the real anaconda-auth library (0.15.3 and 0.14.2): the keyring, condarc and
# env.sh anaconda-ci-auth writes are read by the library, byte-identical to what it writes itself,
# merged into an existing keyring without losing anything, and used for the same Authorization
# header. The tests are tests/compat/*.py; this script checks the tools and prints the closing line.
set -euo pipefail

# shellcheck source=tests/lib.sh source-path=SCRIPTDIR/../..
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

suite="anaconda-auth"
python_new="${venv}/bin/python"
python_old="${test_env}/venv-anaconda-auth-0.14.2/bin/python"

# require_library PYTHON VERSION: the interpreter exists and has exactly that anaconda-auth.
require_library() {
  local python="$1" version="$2" found
  found="$("${python}" -c 'import anaconda_auth; print(anaconda_auth.__version__)' 2>/dev/null)" || found=""
  if [[ "${found}" != "${version}" ]]; then
    echo "not ok - prerequisite: ${python} has anaconda-auth '${found}', expected ${version} (run tests/bootstrap.sh)"
    return 1
  fi
}

prerequisites() {
  local ok=0
  [[ -x "${bin}" ]] || { echo "not ok - prerequisite: ${bin} missing (cargo build)"; ok=1; }
  require_library "${python_new}" 0.15.3 || ok=1
  require_library "${python_old}" 0.14.2 || ok=1
  "${python_new}" -c 'import yaml' || { echo "not ok - prerequisite: pyyaml missing"; ok=1; }
  return "${ok}"
}

main() {
  local scratch summary passed=0 failed=0 rc=0
  if ! prerequisites; then
    echo "${suite}: 0 passed, 1 failed"
    return 1
  fi
  # A private copy of the binary, so a concurrent rebuild of target/debug cannot pull it away mid-run.
  scratch="$(mktemp -d)"
  trap 'rm -rf "${scratch}"' RETURN
  summary="${scratch}/summary"
  cp "${bin}" "${scratch}/anaconda-ci-auth"
  COMPAT_CANARY_KEY="${canary_key}" COMPAT_BIN="${scratch}/anaconda-ci-auth" COMPAT_SUMMARY="${summary}" \
    COMPAT_PYTHON_NEW="${python_new}" COMPAT_PYTHON_OLD="${python_old}" \
    timeout 900 "${python_new}" "${root}/tests/compat/run.py" || rc=$?
  if [[ -s "${summary}" ]]; then
    read -r passed failed <"${summary}"
  fi
  if ((rc != 0 && failed == 0)); then
    echo "not ok - the test runner exited ${rc}"
    failed=$((failed + 1))
  fi
  echo "${suite}: ${passed} passed, ${failed} failed"
  ((failed == 0 && passed > 0))
}

main "$@"
