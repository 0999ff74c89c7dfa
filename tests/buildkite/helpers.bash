#!/usr/bin/env bash
# Shared bats helpers for the Buildkite plugin and Jenkins step tests: loads bats-support,
# bats-assert and bats-mock, gives each test a private TMPDIR/HOME, runs the fake Anaconda API,
# and checks keys by hash (never by printing them).
# shellcheck disable=SC2034  # variables are used by the .bats files that load this

fixtures="$(cd "$(dirname "${BASH_SOURCE[0]}")/fixtures" && pwd)"

load_test_libs() {
  # shellcheck source=SCRIPTDIR/../lib.sh
  source "${fixtures}/../../lib.sh"
  load "${node_modules}/bats-support/load"
  load "${node_modules}/bats-assert/load"
  load "${node_modules}/bats-mock/stub"
  # bats-mock keeps its binstubs and plans in ${BATS_TMPDIR}/bin, which is plain /tmp and shared
  # with every other bats run on the machine: give each test its own.
  PATH="${PATH#"${BATS_MOCK_BINDIR}:"}"
  BATS_MOCK_TMPDIR="${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR}}"
  BATS_MOCK_BINDIR="${BATS_MOCK_TMPDIR}/bin"
  PATH="${BATS_MOCK_BINDIR}:${PATH}"
}

# The canary key is made once per file so the fake API (started in setup_file) knows its hash.
suite_setup_file() {
  # shellcheck source=SCRIPTDIR/../lib.sh
  source "${fixtures}/../../lib.sh"
  export SUITE_CANARY_KEY="${canary_key}"
  export SUITE_EXPIRED_KEY="${expired_key}"
  export SUITE_OTHER_KEY
  SUITE_OTHER_KEY="$(make_jwt "$(($(date +%s) + 30 * 86400))" 0b1c9a52-5a1e-4a5b-9d49-7c3f2b8e6a10 "OTHER${canary_marker}")"
  export SUITE_CANARY_SHA256
  SUITE_CANARY_SHA256="$(sha256_of "${canary_key}")"
  start_suite_api
}

suite_teardown_file() {
  stop_suite_api
}

# Per test: the canary from setup_file, a private TMPDIR (job directories land there) and HOME.
suite_setup() {
  load_test_libs
  canary_key="${SUITE_CANARY_KEY}"
  expired_key="${SUITE_EXPIRED_KEY}"
  export TMPDIR="${BATS_TEST_TMPDIR}/tmp"
  export HOME="${BATS_TEST_TMPDIR}/home"
  mkdir -p "${TMPDIR}" "${HOME}"
  log="${BATS_TEST_TMPDIR}/output.log"
  : >"${log}"
}

# The shared fake Anaconda API (tests/fixtures/fake_api.py, started through tests/lib.sh): accepts
# only the canary key at /api/account and logs `PATH TOKEN_SHA256 STATUS` per request.
start_suite_api() {
  export FAKE_API_LOG="${BATS_FILE_TMPDIR}/fake-api.log"
  : >"${FAKE_API_LOG}"
  start_fake_api "${BATS_FILE_TMPDIR}" --log "${FAKE_API_LOG}" --key-sha256 "${SUITE_CANARY_SHA256}"
  echo "${fake_api_pid}" >"${BATS_FILE_TMPDIR}/fake-api.pid"
  export FAKE_API_URL="${fake_api_url}"
}

stop_suite_api() {
  local pid_file="${BATS_FILE_TMPDIR}/fake-api.pid"
  if [[ -f "${pid_file}" ]]; then
    kill "$(cat "${pid_file}")" 2>/dev/null || true
    rm -f "${pid_file}"
  fi
}

# job_dirs: the anaconda-ci-auth job directories left in this test's TMPDIR.
job_dirs() {
  find "${TMPDIR}" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth-*'
}

# assert_logs_clean FILE...: no key or derived form of the canary (or the other test keys) in them.
assert_logs_clean() {
  local f
  for f in "$@"; do
    assert_no_leak "${f}" "${canary_key}"
    assert_no_leak "${f}" "${SUITE_OTHER_KEY}"
    assert_no_leak "${f}" "${expired_key}"
  done
}
