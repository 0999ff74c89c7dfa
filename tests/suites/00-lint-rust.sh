#!/usr/bin/env bash
# cargo fmt, clippy (warnings as errors; the lint table and clippy.toml), and the API docs with
# warnings denied.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo fmt --check
cargo clippy --locked --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --document-private-items --quiet
echo "lint-rust: 3 passed, 0 failed"
