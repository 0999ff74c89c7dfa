#!/usr/bin/env bash
# A long fuzz run of the key checks and the output scrubber on the stable toolchain (no
# cargo-fuzz, no nightly): runs the property tests (src/jwt/props.rs, src/redact/props.rs) with
# FUZZ_CASES random cases each (default 100000), optimised but with overflow checks and debug
# assertions on, and reports the executions, the failures (a panic or a broken property, with
# the shrunk input proptest prints) and the time taken.
# Usage: scripts/fuzz.sh   (FUZZ_CASES=N cases per property)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cases="${FUZZ_CASES:-100000}"
log="${root}/target/fuzz/fuzz.log"

main() {
  mkdir -p "${root}/target/fuzz"
  cd "${root}"
  echo "fuzz: building the property tests (opt-level 2, overflow checks on)"
  # A separate target directory: other settings than the normal test build, which stays cached.
  export CARGO_TARGET_DIR="${root}/target/fuzz" CARGO_PROFILE_TEST_OPT_LEVEL=2 CARGO_PROFILE_DEV_OPT_LEVEL=2
  cargo test --lib --locked --no-run --quiet
  echo "fuzz: ${cases} cases per property"
  local start end status=0
  start="$(date +%s)"
  PROPTEST_CASES="${cases}" cargo test --lib --locked props -- --test-threads=2 >"${log}" 2>&1 || status=$?
  end="$(date +%s)"
  local passed failed properties
  passed="$(grep -c '^test .*props::.* \.\.\. ok$' "${log}" || true)"
  failed="$(grep -c '^test .*props::.* \.\.\. FAILED$' "${log}" || true)"
  properties=$((passed + failed))
  if ((properties == 0)); then
    cat "${log}"
    echo "fuzz: no property test ran" >&2
    exit 1
  fi
  grep -E '^test .*props::' "${log}" | sed 's/^/  /'
  echo "fuzz: ${properties} properties x ${cases} cases = $((properties * cases)) executions" \
    "in $((end - start)) s; ${failed} failed (log: ${log})"
  if ((status != 0)); then
    grep -E 'minimal failing input|Test failed|panicked' "${log}" | sed 's/^/  /' >&2 || true
    exit "${status}"
  fi
}

main "$@"
