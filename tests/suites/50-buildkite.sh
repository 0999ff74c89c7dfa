#!/usr/bin/env bash
# Buildkite plugin suite: the hooks with the real binary, a recording fake buildkite-agent (and a
# bats-mock stub), a fake Anaconda API and a release mirror on 127.0.0.1, the real anaconda-auth
# loading the key; plugin.yml, README examples, shellcheck, yamllint.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../run-bats.sh" buildkite tests/buildkite
