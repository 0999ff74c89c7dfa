#!/usr/bin/env bash
# The shell suites' own harness (tests/lib.sh, tests/fixtures/): the runner fails a test whose
# output or registered files hold the canary key, a derived form or the canary marker, even when
# the test itself passed; a failed assertion in the middle of a test fails it; leak_ignore and
# expect_leak work as documented; the closing line counts right; the shared fake API answers its
# contract. Each case runs a small suite in a child bash, so the runner under test is not the
# runner counting. No network, no root; a few seconds.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/harness-suite.XXXXXX")"
finish() {
  stop_fake_api
  rm -rf "${work}"
}
trap finish EXIT

# inner NAME BODY: runs a child suite whose tests are defined by BODY (bash source that may call
# run_test), with the same canary keys; its output in ${work}/NAME.out, its exit code in inner_rc.
inner() {
  local name="$1" body="$2"
  mkdir -p "${work}/${name}"
  inner_rc=0
  {
    printf 'set -euo pipefail\nsource %q\n' "${root}/tests/lib.sh"
    printf 'canary_key=%q\nexpired_key=%q\ncanary_marker=%q\n' "${canary_key}" "${expired_key}" "${canary_marker}"
    printf 'runner_init %q\n' "${work}/${name}"
    printf '%s\n' "${body}"
    printf 'runner_finish inner\n'
  } >"${work}/${name}.sh"
  bash "${work}/${name}.sh" >"${work}/${name}.out" 2>&1 || inner_rc=$?
  cat "${work}/${name}.out"
}

# expect_inner RC LINE...: the child suite exited RC and printed each LINE.
expect_inner() {
  local want="$1" line
  shift
  [[ "${inner_rc}" == "${want}" ]] || fail "the child suite exited ${inner_rc}, expected ${want}"
  for line in "$@"; do
    grep -qxF -- "${line}" "${work}/${name}.out" || fail "the child suite did not print: ${line}"
  done
}

test_clean_test_passes() {
  local name=clean
  inner "${name}" 't() { echo "nothing secret here"; }; run_test "a clean test" t'
  expect_inner 0 "ok - a clean test" "inner: 1 passed, 0 failed"
}

test_failed_assertion_mid_test_fails() {
  local name=midway
  inner "${name}" 't() { false; echo "the last command succeeds"; }; run_test "an assertion fails midway" t'
  expect_inner 1 "not ok - an assertion fails midway" "inner: 0 passed, 1 failed"
}

test_leak_in_output_fails_a_passing_test() {
  local name=leak-output form
  for form in "${canary_key}" "Bearer ${expired_key}" "${canary_marker}" "$(leak_forms "${canary_key}" | tail -n 1)"; do
    inner "${name}" "t() { printf 'value: %s\\n' $(printf '%q' "${form}"); }; run_test \"prints a key\" t"
    expect_inner 1 "not ok - prints a key" "inner: 0 passed, 1 failed"
    # The runner never shows a log that holds a key.
    expect_not_in "${work}/${name}.out" "${form}"
  done
}

test_leak_in_registered_file_fails() {
  local name=leak-file
  inner "${name}" "t() { mkdir -p \"\${runner_dir}/d/e\"; printf '%s' \"\${canary_key}\" >\"\${runner_dir}/d/e/f\"; leak_scan \"\${runner_dir}/d\"; }
run_test \"writes a key into a file it registers\" t"
  expect_inner 1 "not ok - writes a key into a file it registers" "inner: 0 passed, 1 failed"
}

test_scan_always_paths() {
  local name=always
  inner "${name}" "runner_init \"\${runner_dir%/runner}\" \"\${runner_dir%/runner}/out\"
mkdir -p \"\${runner_dir%/runner}/out\"
t() { printf '%s' \"\${expired_key}\" >\"\${runner_dir%/runner}/out/log\"; }
run_test \"a file under a path scanned after every test\" t"
  expect_inner 1 "not ok - a file under a path scanned after every test" "inner: 0 passed, 1 failed"
}

test_add_mask_lines_and_leak_ignore() {
  local name=ignore
  inner "${name}" "t() { printf '::add-mask::%s\\n' \"\${canary_key}\"; leak_ignore '^echoed: '; printf 'echoed: %s\\n' \"\${canary_key}\"; }
run_test \"masks and declared echoes are not leaks\" t
u() { leak_ignore '^echoed: '; printf 'other: %s\\n' \"\${canary_key}\"; }
run_test \"an ignore pattern covers only its lines\" u"
  expect_inner 1 "ok - masks and declared echoes are not leaks" "not ok - an ignore pattern covers only its lines" \
    "inner: 1 passed, 1 failed"
}

test_expect_leak() {
  local name=control
  inner "${name}" "t() { expect_leak; printf '%s\\n' \"\${canary_key}\"; }
run_test \"a control test that leaks\" t
u() { expect_leak; echo nothing; }
run_test \"a control test that does not leak\" u"
  expect_inner 1 "ok - a control test that leaks" "not ok - a control test that does not leak" "inner: 1 passed, 1 failed"
}

test_watch_key() {
  local name=watch other
  other="$(make_jwt 4102444800 0b1c9a52-5a1e-4a5b-9d49-7c3f2b8e6a10 OTHERKEY)"
  inner "${name}" "watch_key $(printf '%q' "${other}")
t() { printf '%s\\n' $(printf '%q' "${other}"); }
run_test \"another watched key\" t"
  expect_inner 1 "not ok - another watched key" "inner: 0 passed, 1 failed"
}

test_leak_forms_are_the_binarys() {
  local forms
  forms="$(leak_forms "${canary_key}")"
  [[ "$(wc -l <<<"${forms}")" == 5 ]] || fail "expected 5 forms, got: $(wc -l <<<"${forms}")"
  grep -qxF -- "${canary_key}" <<<"${forms}" || fail "the key itself is not a form"
  grep -qxF -- "Bearer ${canary_key}" <<<"${forms}" || fail "the Bearer header is not a form"
  grep -qxF -- "$(printf '%s' "${canary_key}" | base64 -w0)" <<<"${forms}" || fail "base64 is not a form"
}

test_fake_api_contract() {
  local dir="${work}/api" sha other
  mkdir -p "${dir}/files/v1"
  printf 'release\n' >"${dir}/files/v1/asset"
  sha="$(sha256_of "${canary_key}")"
  start_fake_api "${dir}" --log "${dir}/log" --key-sha256 "${sha}" --files "${dir}/files"
  track_pid "${fake_api_pid}"
  other="$(make_jwt 4102444800 0b1c9a52-5a1e-4a5b-9d49-7c3f2b8e6a10 OTHERKEY)"
  (umask 077 && printf 'Authorization: Bearer %s\n' "${canary_key}" >"${dir}/good" &&
    printf 'Authorization: Bearer %s\n' "${other}" >"${dir}/bad")
  code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
  [[ "$(code -H "@${dir}/good" "${fake_api_url}/api/account")" == 200 ]] || fail "/api/account refused the accepted key"
  [[ "$(code -H "@${dir}/bad" "${fake_api_url}/api/account")" == 401 ]] || fail "/api/account accepted another key"
  [[ "$(code "${fake_api_url}/api/account")" == 401 ]] || fail "/api/account accepted no key"
  [[ "$(code -H "@${dir}/bad" "${fake_api_url}/ok/api/account")" == 200 ]] || fail "/ok refused a key"
  [[ "$(code "${fake_api_url}/ok/api/account")" == 401 ]] || fail "/ok accepted no key"
  [[ "$(code -H "@${dir}/good" "${fake_api_url}/reject/api/account")" == 401 ]] || fail "/reject accepted a key"
  [[ "$(curl -s "${fake_api_url}/files/v1/asset")" == release ]] || fail "/files/ did not serve the release file"
  [[ "$(code --path-as-is "${fake_api_url}/files/../api.port")" == 404 ]] || fail "/files/ served a file outside its directory"
  curl -s -H "@${dir}/good" "${fake_api_url}/api/account" | grep -qF '"username": "ci-bot"' || fail "no ci-bot account"
  expect_in "${dir}/log" "/api/account ${sha} 200"
  expect_in "${dir}/log" "/ok/api/account $(sha256_of "${other}") 200"
  expect_in "${dir}/log" "/ok/api/account - 401"
  expect_in "${dir}/log" "/reject/api/account ${sha} 401"
  expect_not_in "${dir}/log" "${canary_key}"
}

main() {
  runner_init "${work}"
  run_test "runner: a clean test passes" test_clean_test_passes
  run_test "runner: a failed assertion in the middle of a test fails it" test_failed_assertion_mid_test_fails
  run_test "runner: a key, a derived form or the marker in a test's output fails it, and is not shown" test_leak_in_output_fails_a_passing_test
  run_test "runner: a key in a file the test registered with leak_scan fails it" test_leak_in_registered_file_fails
  run_test "runner: a key under a path given to runner_init fails any test" test_scan_always_paths
  run_test "runner: ::add-mask:: lines and leak_ignore lines are skipped, nothing else" test_add_mask_lines_and_leak_ignore
  run_test "runner: expect_leak passes only when the scan finds the key" test_expect_leak
  run_test "runner: watch_key adds a key to the scan" test_watch_key
  run_test "leak_forms: the key, Bearer, base64, base64url and the keyring entry" test_leak_forms_are_the_binarys
  run_test "fake API: accepted key, other key, /ok, /reject, /files/ and the hashed request log" test_fake_api_contract
  runner_stop_tracked
  runner_finish harness
}

main "$@"
