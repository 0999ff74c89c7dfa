#!/usr/bin/env bash
# Jenkins suite: the step scripts and the example Jenkinsfile's sh blocks run as separate shells
# with Jenkins-like variables (sh -xe, WORKSPACE, BUILD_TAG, ...), the real binary and the real
# anaconda-auth; npm-groovy-lint on the Jenkinsfile; shellcheck.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../run-bats.sh" jenkins tests/jenkins
