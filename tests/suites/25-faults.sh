#!/usr/bin/env bash
# Fault tests of the binary, black-box (tests/faults/*.py, Python stdlib only): file faults and
# special files at --keyring-path, symlink races against root, what `cleanup` trusts, leftovers,
# file modes under umask 000, concurrent merges into one keyring, and a crash loop of kill -9
# during setup and cleanup. Runs as root (it makes throw-away users, mounts tmpfs, uses chattr).
# The binary: $ANACONDA_CI_AUTH_BIN (default target/debug/anaconda-ci-auth). Iteration counts:
# see the FAULTS_* variables at the top of each script; FAULTS_SEED repeats a run.
set -euo pipefail

# shellcheck source=tests/lib.sh source-path=SCRIPTDIR/../..
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

suite="faults"

prerequisites() {
  local ok=0 tool
  [[ -x "${bin}" ]] || { echo "FAIL prerequisite - ${bin} missing (cargo build)"; ok=1; }
  if ((EUID != 0)); then
    echo "FAIL prerequisite - must run as root (throw-away users, tmpfs mounts, chattr, mknod)"
    ok=1
  fi
  for tool in python3 useradd userdel groupadd groupdel usermod mount umount unshare chattr mknod timeout; do
    command -v "${tool}" >/dev/null || { echo "FAIL prerequisite - ${tool} missing (tests/bootstrap.sh)"; ok=1; }
  done
  return "${ok}"
}

main() {
  local scratch passed=0 failed=0 skipped=0 script name out rc start p f s
  local started="${SECONDS}"
  if ! prerequisites; then
    echo "${suite}: 0 passed, 1 failed"
    return 1
  fi
  # A private copy of the binary (a concurrent rebuild cannot pull it away mid-run), readable by
  # the throw-away users the tests run it as.
  scratch="$(mktemp -d)"
  chmod 0755 "${scratch}"
  trap 'rm -rf "${scratch}"' RETURN
  cp "${bin}" "${scratch}/anaconda-ci-auth"
  chmod 0755 "${scratch}/anaconda-ci-auth"
  export ANACONDA_CI_AUTH_BIN="${scratch}/anaconda-ci-auth"
  for script in file_faults races cleanup_trust leftovers modes concurrency crash_loop; do
    out="${scratch}/${script}.out"
    start="${SECONDS}"
    echo "--- ${script}"
    rc=0
    timeout 1500 python3 -u "${root}/tests/faults/${script}.py" 2>&1 | tee "${out}" || rc=$?
    p="$(grep -c '^PASS ' "${out}" || true)"
    f="$(grep -c '^FAIL ' "${out}" || true)"
    s="$(grep -c '^SKIP ' "${out}" || true)"
    if ((rc != 0 && f == 0)); then
      echo "FAIL ${script} - the script exited ${rc} without reporting a failed case"
      f=$((f + 1))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    echo "    (${script}: $((SECONDS - start))s)"
  done
  name="$((SECONDS - started))s"
  echo "${suite}: ${skipped} skipped (reasons above), run time ${name}"
  echo "${suite}: ${passed} passed, ${failed} failed"
  ((failed == 0 && passed > 0))
}

main "$@"
