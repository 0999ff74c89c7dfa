#!/usr/bin/env bash
# cargo fmt and clippy, warnings as errors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo fmt --check
cargo clippy --locked --all-targets --quiet -- -D warnings
echo "lint-rust: 2 passed, 0 failed"
