#!/usr/bin/env bash
# Produces the standalone Buildkite plugin repository (anaconda-ci-auth-buildkite-plugin) from this
# repository: the buildkite/ folder, plus lib/install-binary.sh (from scripts/install-binary.sh) and
# checksums/ (from checksums/), which the plugin's hooks use when they are not inside a checkout of
# this repository.
#
# Those two are produced here and not committed under buildkite/: used from a checkout of this
# repository (`./buildkite`), the hooks run ../scripts/install-binary.sh with ../checksums/, so the
# only place the copies are needed is the published plugin repository, and this script is the one
# way they get there. tests/buildkite/plugin.bats checks that the output's copies are byte-identical
# to the originals and that no copy is committed under buildkite/ again.
#
# Usage: scripts/package-buildkite-plugin.sh OUT_DIR
#   OUT_DIR must not exist, or be an empty directory. Publishing a release is then: replace the
#   plugin repository's files with OUT_DIR's, commit, and tag it vX.Y.Z (after checksums/vX.Y.Z.txt
#   exists for the binary release).
set -euo pipefail

die() {
  echo "package-buildkite-plugin: error: $*" >&2
  exit 1
}

main() {
  local root out
  (($# == 1)) || die "usage: scripts/package-buildkite-plugin.sh OUT_DIR"
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  out="$1"
  if [[ -e "${out}" ]]; then
    [[ -d "${out}" && -z "$(ls -A "${out}")" ]] || die "${out} exists and is not an empty directory"
  fi
  mkdir -p "${out}"
  # Only tracked files of the plugin folder: nothing a local test run left behind.
  git -C "${root}" ls-files -z -- buildkite | while IFS= read -r -d '' file; do
    mkdir -p "${out}/$(dirname "${file#buildkite/}")"
    cp -p "${root}/${file}" "${out}/${file#buildkite/}"
  done
  [[ -f "${out}/plugin.yml" ]] || die "buildkite/plugin.yml is not tracked in ${root}"
  mkdir -p "${out}/lib" "${out}/checksums"
  cp -p "${root}/scripts/install-binary.sh" "${out}/lib/install-binary.sh"
  git -C "${root}" ls-files -z -- checksums | while IFS= read -r -d '' file; do
    cp -p "${root}/${file}" "${out}/${file}"
  done
  echo "${out}"
}

main "$@"
