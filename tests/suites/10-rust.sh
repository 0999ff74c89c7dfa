#!/usr/bin/env bash
# Unit tests and the integration tests of the binary (fake Anaconda API on loopback, leak tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo test --locked
