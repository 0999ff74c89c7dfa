#!/usr/bin/env bash
# Shared by the test suites: where the binary, the venv and the npm tools are, the canary keys every
# suite checks for, the one fake Anaconda API (tests/fixtures/fake_api.py), and the one runner of
# the shell suites (run_test), which checks every test's output for the keys itself.
# shellcheck disable=SC2034  # variables are used by the suites that source this file

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
test_env="${root}/target/test-env"
venv="${test_env}/venv"
node_modules="${root}/tests/node/node_modules"
fixtures_dir="${root}/tests/fixtures"
bin="${ANACONDA_CI_AUTH_BIN:-${root}/target/debug/anaconda-ci-auth}"
export PATH="${venv}/bin:${PATH}"

# make_jwt EXP SUB MARKER: a syntactically valid, unsigned Anaconda-style API key.
make_jwt() {
  python3 "${fixtures_dir}/canary.py" jwt "$@"
}

# A key valid for a year, and one that expired, each carrying a unique canary marker.
canary_marker="CANARY$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
canary_key="$(make_jwt "$(($(date +%s) + 365 * 86400))" d04c356b-afd2-4b3e-80f2-403113e0974b "${canary_marker}")"
expired_key="$(make_jwt 1689088786 d04c356b-afd2-4b3e-80f2-403113e0974b "${canary_marker}")"

# leak_forms KEY: the key and the derived forms that must never appear in logs, one per line
# (defined once, in tests/fixtures/canary.py; the key goes over stdin).
leak_forms() {
  python3 "${fixtures_dir}/canary.py" forms <<<"$1"
}

# assert_no_leak FILE KEY: fails if FILE contains the key or a derived form outside ::add-mask:: lines.
assert_no_leak() {
  local file="$1" key="$2" form filtered status=0
  filtered="$(mktemp)"
  # No pipe into `grep -q`: under pipefail its early exit would turn a found leak into "no leak".
  grep -av '^::add-mask::' "${file}" >"${filtered}" || true
  while IFS= read -r form; do
    if grep -aqF -- "${form}" "${filtered}"; then
      echo "LEAK: ${file} contains the key (or a derived form)" >&2
      status=1
      break
    fi
  done < <(leak_forms "${key}")
  rm -f "${filtered}"
  return "${status}"
}

# ---- the fake Anaconda API -------------------------------------------------------------------

# start_fake_api DIR [ARGS...]: starts tests/fixtures/fake_api.py serve in the background with
# --port-file DIR/api.port and ARGS (e.g. --log FILE --key-sha256 HEX --files DIR); waits until
# it listens, then sets fake_api_pid and fake_api_url. Stop it with stop_fake_api.
start_fake_api() {
  local dir="$1" i
  shift
  rm -f "${dir}/api.port"
  python3 "${fixtures_dir}/fake_api.py" serve --port-file "${dir}/api.port" "$@" </dev/null >/dev/null 3>&- &
  fake_api_pid=$!
  for ((i = 0; i < 100; i++)); do
    if [[ -s "${dir}/api.port" ]]; then
      fake_api_url="http://127.0.0.1:$(tr -d '[:space:]' <"${dir}/api.port")"
      return 0
    fi
    sleep 0.05
  done
  echo "the fake Anaconda API did not start" >&2
  return 1
}

stop_fake_api() {
  if [[ -n "${fake_api_pid:-}" ]]; then
    kill "${fake_api_pid}" 2>/dev/null || true
    wait "${fake_api_pid}" 2>/dev/null || true
    fake_api_pid=""
  fi
}

# sha256_of TEXT: the SHA-256 of TEXT (no newline added), in hex.
sha256_of() {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# ---- assertions for the shell suites ---------------------------------------------------------

# fail MESSAGE: prints MESSAGE (to stderr) and returns 1.
fail() {
  echo "    $*" >&2
  return 1
}

# check WHAT COMMAND...: runs COMMAND; if it fails, says which check failed.
check() {
  local what="$1"
  shift
  "$@" || fail "check failed: ${what}"
}

# expect_in FILE TEXT / expect_not_in FILE TEXT: FILE has (has not) the fixed string TEXT.
expect_in() {
  grep -qF -- "$2" "$1" || fail "expected in ${1##*/}: $2"
}

expect_not_in() {
  if grep -qF -- "$2" "$1"; then fail "not expected in ${1##*/}: $2"; fi
}

# expect_lines FILE CHECK...: FILE (a captured log) passes every CHECK; reports each that fails.
#   expect=TEXT          a line contains TEXT            expect_not=TEXT     no line contains TEXT
#   expect_re=REGEX      a line matches REGEX (grep)     count=N:TEXT        N lines contain TEXT
#   count_re=N:REGEX     N lines match REGEX
expect_lines() {
  local file="$1" spec value n status=0
  shift
  for spec in "$@"; do
    value="${spec#*=}"
    case "${spec}" in
      expect=*) expect_in "${file}" "${value}" || status=1 ;;
      expect_not=*) expect_not_in "${file}" "${value}" || status=1 ;;
      expect_re=*) grep -q -- "${value}" "${file}" || fail "no line of ${file##*/} matches: ${value}" || status=1 ;;
      count=* | count_re=*)
        if [[ "${spec}" == count=* ]]; then
          n="$(grep -cF -- "${value#*:}" "${file}" || true)"
        else
          n="$(grep -c -- "${value#*:}" "${file}" || true)"
        fi
        [[ "${n}" == "${value%%:*}" ]] || fail "${n} lines of ${file##*/} have '${value#*:}', expected ${value%%:*}" || status=1
        ;;
      *) fail "expect_lines: unknown check ${spec}" || status=1 ;;
    esac
  done
  return "${status}"
}

# ---- the shell suites' runner ----------------------------------------------------------------
#
#   runner_init DIR [PATH...] counters to zero; logs and bookkeeping go under DIR/runner; the
#                             PATHs (files or directories) are scanned after every test
#   run_test NAME FUNCTION    one test: FUNCTION runs in a subshell with `set -euo pipefail`, its
#                             output in a log; then the log, and every file or directory the test
#                             named with leak_scan, is checked for the watched keys (the canary,
#                             the expired key, any added with watch_key, and the canary marker)
#   runner_finish SUITE       prints `SUITE: N passed, N failed`; fails if any test failed
#
# Inside a test:
#   leak_scan PATH...         also check these files (directories: every file below them)
#   leak_ignore REGEX         lines matching REGEX are left out of this test's scan (say why)
#   expect_leak               a control test: it passes only if the scan does find a key
#   track_pid PID             a background process runner_stop_tracked kills at the end
#
# The scan is the runner's, so a test cannot forget it.

runner_init() {
  runner_dir="$1/runner"
  shift
  mkdir -p "${runner_dir}/logs"
  : >"${runner_dir}/pids"
  printf '%s\n' "$@" >"${runner_dir}/scan-always"
  (
    umask 077
    {
      leak_forms "${canary_key}"
      leak_forms "${expired_key}"
      printf '%s\n' "${canary_marker}"
    } >"${runner_dir}/forms"
  )
  passed=0
  failed=0
}

# watch_key KEY: one more key (with its derived forms) that no test output may contain.
watch_key() {
  leak_forms "$1" >>"${runner_dir}/forms"
}

leak_scan() {
  local path
  for path in "$@"; do
    printf '%s\n' "${path}" >>"${runner_test_dir}/scan"
  done
}

leak_ignore() {
  printf '%s\n' "$1" >>"${runner_test_dir}/ignore"
}

expect_leak() {
  : >"${runner_test_dir}/expect-leak"
}

track_pid() {
  printf '%s\n' "$1" >>"${runner_dir}/pids"
}

# runner_stop_tracked: kills the background processes tests registered with track_pid.
runner_stop_tracked() {
  local pid
  [[ -n "${runner_dir:-}" && -f "${runner_dir}/pids" ]] || return 0
  while IFS= read -r pid; do
    [[ -n "${pid}" ]] || continue
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done <"${runner_dir}/pids"
  : >"${runner_dir}/pids"
}

# runner_scan_file FILE: 0 if FILE holds no watched key, derived form or the canary marker, outside
# ::add-mask:: lines and the lines the test told the runner to ignore.
runner_scan_file() {
  local file="$1" scanned="${runner_test_dir}/scanned" status=0
  # No pipe into `grep -q`: under pipefail its early exit would turn a found leak into "no leak".
  grep -av '^::add-mask::' -- "${file}" >"${scanned}" || true
  if [[ -s "${runner_test_dir}/ignore" ]]; then
    grep -avE -f "${runner_test_dir}/ignore" -- "${scanned}" >"${scanned}.kept" || true
    mv -f "${scanned}.kept" "${scanned}"
  fi
  if grep -aqF -f "${runner_dir}/forms" -- "${scanned}"; then
    echo "LEAK: ${file} contains a key, a derived form or the canary marker"
    status=1
  fi
  rm -f "${scanned}"
  return "${status}"
}

# runner_scan LOG: scans LOG and the test's leak_scan paths; prints what leaked; 1 on a leak.
runner_scan() {
  local log="$1" path file status=0
  local -a files=("${log}")
  touch "${runner_test_dir}/scan"
  while IFS= read -r path; do
    if [[ -z "${path}" ]]; then
      continue
    elif [[ -d "${path}" ]]; then
      mapfile -t -O "${#files[@]}" files < <(find "${path}" -type f -not -path '*/.git/*')
    elif [[ -e "${path}" ]]; then
      files+=("${path}")
    fi
  done < <(cat "${runner_dir}/scan-always" "${runner_test_dir}/scan")
  for file in "${files[@]}"; do
    runner_scan_file "${file}" || status=1
  done
  return "${status}"
}

run_test() {
  local name="$1" fn="$2" n log rc=0 leak=0 leaks
  n=$((passed + failed + 1))
  runner_test_dir="${runner_dir}/tests/${n}"
  mkdir -p "${runner_test_dir}"
  log="${runner_dir}/logs/${n}.log"
  # Not in an `if` condition: bash ignores `set -e` there, even in a subshell, and then only the
  # test's last command would count.
  set +e
  (
    set -euo pipefail
    "${fn}"
  ) >"${log}" 2>&1
  rc=$?
  set -e
  leaks="$(runner_scan "${log}")" || leak=1
  if [[ -f "${runner_test_dir}/expect-leak" ]]; then
    if ((leak)); then
      echo "the leak check caught the deliberate leak: ${leaks}" >>"${log}"
      leak=0
    else
      echo "the leak check missed a key printed on purpose" >>"${log}"
      rc=1
    fi
  elif ((leak)); then
    rc=1
  fi
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "ok - ${name}"
  else
    failed=$((failed + 1))
    echo "not ok - ${name}"
    if ((leak)); then
      # Never show a log that holds a key.
      printf '%s\n' "${leaks}" | sed 's/^/    /'
    else
      sed 's/^/    | /' "${log}" | tail -n 60
    fi
  fi
}

runner_finish() {
  echo "$1: ${passed} passed, ${failed} failed"
  ((failed == 0))
}
