#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the tools (tests/bootstrap.sh), lints, runs the
# Rust unit and integration tests, then each integration's suite in its real runner.
# Usage: tests/run-all.sh [SUITE...]   (suite names as in tests/suites/, e.g. `gitlab`)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
"${root}/tests/bootstrap.sh"

echo "--- building"
cargo build --locked --quiet

mapfile -t suites < <(find tests/suites -maxdepth 1 -name '*.sh' | sort)
if (($#)); then
  wanted=("$@")
  filtered=()
  for s in "${suites[@]}"; do
    name="$(basename "${s}" .sh)"
    name="${name#*-}"
    for w in "${wanted[@]}"; do [[ "${name}" == "${w}" ]] && filtered+=("${s}"); done
  done
  suites=("${filtered[@]}")
fi

passed=0
failed=0
failed_names=()
for s in "${suites[@]}"; do
  echo "--- suite ${s}"
  if bash "${s}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$(basename "${s}")")
  fi
done
if ((failed)); then
  echo "failed suites: ${failed_names[*]}"
fi
echo "suites: ${passed} passed, ${failed} failed"
((failed == 0))
