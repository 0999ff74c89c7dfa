#!/usr/bin/env bash
# Lints every shell script in the repository with shellcheck (following sourced files), including the
# Buildkite hooks and .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
shellcheck="target/test-env/venv/bin/shellcheck"
mapfile -t scripts < <(
  {
    git ls-files '*.sh' '*.bash' .ci/run 'buildkite/hooks/*'
    git ls-files --others --exclude-standard '*.sh' '*.bash'
  } | sort -u
)
passed=0
failed=0
for s in "${scripts[@]}"; do
  if "${shellcheck}" -x "${s}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "lint-shell: ${passed} passed, ${failed} failed"
((failed == 0))
