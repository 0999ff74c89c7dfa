#!/usr/bin/env bash
# Packaging suite: the routes by which users get the binary, each built from this checkout and
# installed the way users install it, then run.
#   - wheel: maturin builds it (one release build, reused by later steps and later runs), pip
#     installs it into a fresh venv with --no-index, and scripts/demo.sh runs the offline main job
#     with that venv's binary; scripts/install-binary.sh pip installs it from a loopback index;
#   - conda: the conda-forge recipe renders; py-rattler-build builds recipe/recipe.yaml with the
#     machine's Rust toolchain, py-rattler installs it into a fresh prefix from the local channel,
#     and it runs;
#     scripts/install-binary.sh conda installs it through a conda CLI stand-in backed by py-rattler;
#   - crate: `cargo package --locked` lists only allowed files, and builds the packaged crate.
# Builds and installs run in a network namespace with only loopback (after `cargo fetch`), so
# nothing here reaches PyPI or a conda channel. A missing tool fails the suite.
set -euo pipefail

suite_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/lib.sh
. "${suite_root}/tests/lib.sh"
cd "${root}"

work="$(mktemp -d "${TMPDIR:-/tmp}/packaging-suite.XXXXXXXX")"
# The one release build: maturin and rattler-build both build into it, and later runs reuse it.
export CARGO_TARGET_DIR="${root}/target"
# rattler-build gives its build script a HOME of its own; the recipe forwards these instead.
export RUSTUP_HOME="${RUSTUP_HOME:-${HOME}/.rustup}" CARGO_HOME="${CARGO_HOME:-${HOME}/.cargo}"
# One fixed value for both builds and every run (rattler-build would set the current time): ring's
# build script reruns, and everything above it rebuilds, whenever SOURCE_DATE_EPOCH changes.
export SOURCE_DATE_EPOCH=315532800
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
wheels="${work}/wheels"
conda_out="${work}/conda-channel"

finish() {
  if [[ -n "${PACKAGING_SUITE_KEEP:-}" ]]; then
    echo "packaging suite: kept ${work}"
  else
    rm -rf "${work}"
  fi
}
trap finish EXIT

# ---- harness (run_test is in tests/lib.sh) -------------------------------------------------

fail() {
  echo "$*"
  return 1
}

expect_in() {
  grep -qF -- "$2" "$1" || fail "expected in $(basename "$1"): $2"
}

# offline CMD ARGS...: runs CMD in a new network namespace that has only loopback, for at most
# 15 minutes (a tool that waits for the network fails instead of hanging the suite).
offline() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 900 unshare --net -- bash -c 'ip link set lo up && exec "$@"' offline "$@"
}

# ---- tools ---------------------------------------------------------------------------------

test_tools() {
  local t
  for t in maturin patchelf yamllint unshare ip; do
    command -v "${t}" >/dev/null || fail "${t} is not installed (tests/bootstrap.sh installs it)"
  done
  python3 -c 'import rattler, rattler_build' || fail "py-rattler or py-rattler-build is missing from ${venv}"
  maturin --version
  patchelf --version
  # Every crate the builds below need, so that they can run offline.
  cargo fetch --locked --quiet
}

# ---- wheel ---------------------------------------------------------------------------------

test_wheel_builds() {
  offline maturin build --release --locked --out "${wheels}"
  local found=("${wheels}"/anaconda_ci_auth-"${version}"-py3-none-*.whl)
  [[ ${#found[@]} -eq 1 && -f "${found[0]}" ]] || fail "expected one wheel for ${version} in ${wheels}: ${found[*]}"
}

# The wheel holds the binary as a script and complete metadata, and no Python code.
test_wheel_metadata() {
  python3 - "${wheels}" "${version}" <<'PY'
import email, glob, sys, zipfile
wheels, version = sys.argv[1], sys.argv[2]
(path,) = glob.glob(f"{wheels}/*.whl")
z = zipfile.ZipFile(path)
names = set(z.namelist())
di = f"anaconda_ci_auth-{version}.dist-info"
assert f"anaconda_ci_auth-{version}.data/scripts/anaconda-ci-auth" in names, names
code = [n for n in names if not n.startswith((di + "/", f"anaconda_ci_auth-{version}.data/scripts/"))]
assert not code, f"unexpected files in the wheel: {code}"
m = email.message_from_bytes(z.read(f"{di}/METADATA"))
want = {"Name": "anaconda-ci-auth", "Version": version, "License-Expression": "BSD-3-Clause",
        "Description-Content-Type": "text/markdown; charset=UTF-8; variant=GFM"}
for k, v in want.items():
    assert m[k] == v, f"{k}: {m[k]!r} != {v!r}"
urls = dict(u.split(", ", 1) for u in m.get_all("Project-URL"))
for k in ("Source", "Documentation", "Issues", "Changelog"):
    assert urls.get(k, "").startswith("https://github.com/anaconda-ci-auth/anaconda-ci-auth"), (k, urls)
assert m["Summary"] and len(m.get_all("Classifier")) >= 5
readme = open("README.md", encoding="utf-8").read()
assert m.get_payload().strip() == readme.strip(), "the README is not the description"
assert f"{di}/licenses/LICENSE" in names
print(f"{path}: {len(names)} files, metadata complete")
PY
}

# pip install --no-index into a fresh venv; the venv's binary runs the offline main job.
test_wheel_installs_and_runs() {
  local env="${work}/wheel-venv" out="${work}/wheel-demo.out"
  python3 -m venv "${env}"
  offline "${env}/bin/pip" install --disable-pip-version-check --no-index --no-cache-dir "${wheels}"/*.whl
  [[ -x "${env}/bin/anaconda-ci-auth" ]] || fail "the wheel put no anaconda-ci-auth in ${env}/bin"
  [[ "$("${env}/bin/anaconda-ci-auth" --version)" == "anaconda-ci-auth ${version}" ]] ||
    fail "the installed binary is not ${version}"
  offline bash scripts/demo.sh "${env}/bin/anaconda-ci-auth" >"${out}" 2>&1 || {
    cat "${out}"
    fail "the demo failed with the wheel's binary"
  }
  cat "${out}"
  expect_in "${out}" '"key_source": "environment variable DEMO_ANACONDA_KEY"'
  expect_in "${out}" "child sees: ****"
  expect_in "${out}" "removed; done"
}

# The sdist (what conda-forge builds from) holds the crate's files plus pyproject.toml.
test_sdist_contents() {
  offline maturin sdist --out "${work}/sdist"
  local sdist="${work}/sdist/anaconda_ci_auth-${version}.tar.gz" list="${work}/sdist.list"
  tar -tzf "${sdist}" | sed "s|^anaconda_ci_auth-${version}/||" | sort >"${list}"
  cat "${list}"
  local f
  for f in pyproject.toml Cargo.toml Cargo.lock README.md LICENSE src/main.rs PKG-INFO; do
    grep -qxF "${f}" "${list}" || fail "the sdist lacks ${f}"
  done
  if grep -E '^(tests/suites|tests/github|gitlab|buildkite|jenkins|docker|action|\.github)/' "${list}"; then
    fail "the sdist ships files the build does not need"
  fi
}

# scripts/install-binary.sh pip from a loopback index: one line on stdout, the binary runs.
test_install_binary_pip() {
  mkdir -p "${work}/index/anaconda-ci-auth"
  cp "${wheels}"/*.whl "${work}/index/anaconda-ci-auth/"
  # The index server and the installer share one namespace; its variables expand in there.
  # shellcheck disable=SC2016
  offline bash -c '
    set -euo pipefail
    work="$1" version="$2"
    python3 -m http.server --bind 127.0.0.1 --directory "${work}/index" 18871 >"${work}/index.log" 2>&1 &
    server=$!
    trap "kill ${server}" EXIT
    for _ in $(seq 50); do
      curl -fs -o /dev/null http://127.0.0.1:18871/anaconda-ci-auth/ && break
      sleep 0.1
    done
    export ANACONDA_CI_AUTH_PIP_INDEX_URL=http://127.0.0.1:18871/ ANACONDA_CI_AUTH_INSTALL_DIR="${work}/pip-install"
    bash scripts/install-binary.sh pip "${version}" >"${work}/pip.out" 2>"${work}/pip.err"
    cat "${work}/pip.err"
    test "$(wc -l <"${work}/pip.out")" -eq 1
    bin="$(cat "${work}/pip.out")"
    test "${bin}" = "${work}/pip-install/pip/bin/anaconda-ci-auth"
    test "$("${bin}" --version)" = "anaconda-ci-auth ${version}"
    # Again: the earlier install is replaced, not kept half-way.
    bash scripts/install-binary.sh pip "v${version}" >"${work}/pip2.out" 2>/dev/null
    cmp "${work}/pip.out" "${work}/pip2.out"
    # A version the index does not have: exit 1, nothing on stdout.
    rc=0
    bash scripts/install-binary.sh pip 0.0.0 >"${work}/pip-missing.out" 2>"${work}/pip-missing.err" || rc=$?
    cat "${work}/pip-missing.err"
    test "${rc}" -eq 1
    test ! -s "${work}/pip-missing.out"
    grep -qF "pip could not install anaconda-ci-auth==0.0.0" "${work}/pip-missing.err"
  ' bash "${work}" "${version}"
}

test_install_binary_pip_refuses_plain_http() {
  local rc=0
  ANACONDA_CI_AUTH_PIP_INDEX_URL=http://pypi.example.com/simple/ ANACONDA_CI_AUTH_INSTALL_DIR="${work}/pip-refused" \
    bash scripts/install-binary.sh pip >"${work}/refused.out" 2>"${work}/refused.err" || rc=$?
  cat "${work}/refused.err"
  [[ "${rc}" -eq 1 && ! -s "${work}/refused.out" ]] || fail "a plain http index was not refused (rc ${rc})"
  expect_in "${work}/refused.err" "only https:// (or http:// to a loopback address) is allowed"
  [[ ! -e "${work}/pip-refused/pip" ]] || fail "pip ran before the index was refused"
}

# ---- conda ---------------------------------------------------------------------------------

# recipe_version FILE: the context version of a recipe.
recipe_version() {
  sed -n 's/^  version: "\(.*\)"$/\1/p' "$1"
}

test_recipe_versions() {
  local r got
  for r in recipe/recipe.yaml recipe/conda-forge/recipe.yaml; do
    got="$(recipe_version "${r}")"
    [[ "${got}" == "${version}" ]] || fail "${r} names version '${got}', Cargo.toml ${version}"
  done
  # Control: the check reads the version it compares.
  sed "s/^  version: \".*\"$/  version: \"9.9.9\"/" recipe/recipe.yaml >"${work}/bumped.yaml"
  [[ "$(recipe_version "${work}/bumped.yaml")" == 9.9.9 ]] || fail "recipe_version did not read a changed version"
}

test_recipes_lint() {
  yamllint -s -c .yamllint recipe/recipe.yaml recipe/conda-forge/recipe.yaml
}

# The conda-forge form, filled in the way the release workflow does, renders with conda-forge's
# compilers and points at the release's sdist with its SHA-256.
test_conda_forge_recipe_renders() {
  local sha filled="${work}/conda-forge.recipe.yaml"
  sha="$(printf 'sdist' | sha256sum | cut -d ' ' -f 1)"
  sed "s/@SDIST_SHA256@/${sha}/" recipe/conda-forge/recipe.yaml >"${filled}"
  offline python3 tests/packaging/conda.py render "${filled}" | tee "${work}/rendered.json"
  python3 - "${work}/rendered.json" "${version}" "${sha}" <<'PY'
import json, sys
r, version, sha = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert r["package"] == {"name": "anaconda-ci-auth", "version": version}, r["package"]
(src,) = r["source"]
assert src["url"] == ("https://github.com/anaconda-ci-auth/anaconda-ci-auth/releases/download/"
                      f"v{version}/anaconda_ci_auth-{version}.tar.gz"), src
assert src["sha256"] == sha, src
reqs = " ".join(r["build_requirements"])
for want in ("rust_", "gcc_", "sysroot_", "cargo-bundle-licenses"):
    assert want in reqs, (want, reqs)
assert any("cargo install --locked" in line for line in r["script"]), r["script"]
PY
}

test_conda_builds() {
  # cargo install asks the index even when every crate is at hand, unless told it is offline.
  CARGO_NET_OFFLINE=true offline python3 tests/packaging/conda.py build recipe/recipe.yaml "${conda_out}" |
    tee "${work}/conda.path"
  local pkg
  pkg="$(tail -n 1 "${work}/conda.path")"
  [[ "$(basename "${pkg}")" == anaconda-ci-auth-"${version}"-*.conda ]] || fail "unexpected package ${pkg}"
}

test_conda_installs_and_runs() {
  local prefix="${work}/conda-env" out="${work}/conda-demo.out"
  offline python3 tests/packaging/conda.py install "${conda_out}" "${prefix}" "${work}/rattler-cache" \
    "anaconda-ci-auth==${version}"
  compgen -G "${prefix}/conda-meta/anaconda-ci-auth-${version}-*.json" >/dev/null ||
    fail "no conda-meta record for anaconda-ci-auth ${version} in ${prefix}"
  [[ "$("${prefix}/bin/anaconda-ci-auth" --version)" == "anaconda-ci-auth ${version}" ]] ||
    fail "the conda package's binary is not ${version}"
  offline bash scripts/demo.sh "${prefix}/bin/anaconda-ci-auth" >"${out}" 2>&1 || {
    cat "${out}"
    fail "the demo failed with the conda package's binary"
  }
  expect_in "${out}" "removed; done"
}

# scripts/install-binary.sh conda, with `conda create` answered by py-rattler from the local channel.
test_install_binary_conda() {
  local shim="${work}/conda-cli/conda"
  mkdir -p "${work}/conda-cli"
  printf '#!/bin/sh\nexec %q %q "$@"\n' "${venv}/bin/python3" "${root}/tests/packaging/conda.py" >"${shim}"
  chmod +x "${shim}"
  offline env ANACONDA_CI_AUTH_CONDA="${shim}" ANACONDA_CI_AUTH_CONDA_CHANNEL="file://${conda_out}" \
    CONDA_PKGS_DIRS="${work}/conda-pkgs" ANACONDA_CI_AUTH_INSTALL_DIR="${work}/conda-install" \
    bash scripts/install-binary.sh conda "${version}" >"${work}/conda.out" 2>"${work}/conda.err"
  cat "${work}/conda.err"
  [[ "$(wc -l <"${work}/conda.out")" -eq 1 ]] || fail "stdout is not one line"
  [[ "$(cat "${work}/conda.out")" == "${work}/conda-install/conda/bin/anaconda-ci-auth" ]] ||
    fail "unexpected path $(cat "${work}/conda.out")"
  expect_in "${work}/conda.err" "anaconda-ci-auth ${version}"
}

# ---- crate ---------------------------------------------------------------------------------

# check_package_list FILE: every file of `cargo package --list` is allowed, and the ones the build
# needs are there.
check_package_list() {
  local list="$1" f bad=0
  while IFS= read -r f; do
    case "${f}" in
      Cargo.toml | Cargo.toml.orig | Cargo.lock | .cargo_vcs_info.json | README.md | LICENSE | CHANGELOG.md) ;;
      src/*.rs | tests/integration/*.rs) ;;
      *)
        echo "not allowed in the crate: ${f}"
        bad=1
        ;;
    esac
  done <"${list}"
  for f in Cargo.toml Cargo.lock README.md LICENSE src/main.rs src/lib.rs tests/integration/main.rs; do
    grep -qxF "${f}" "${list}" || {
      echo "missing from the crate: ${f}"
      bad=1
    }
  done
  # Every Rust source in the repository's src/ ships.
  while IFS= read -r f; do
    grep -qxF "${f}" "${list}" || {
      echo "missing from the crate: ${f}"
      bad=1
    }
  done < <(git ls-files 'src/*.rs')
  return "${bad}"
}

test_cargo_package_list() {
  # --allow-dirty: the list, not the state of the working tree, is under test.
  cargo package --locked --list --allow-dirty >"${work}/crate.list"
  cat "${work}/crate.list"
  check_package_list "${work}/crate.list"
  # Control: a suite script or fixture in the list is caught.
  { cat "${work}/crate.list" && echo tests/suites/70-packaging.sh; } >"${work}/crate-bad.list"
  if check_package_list "${work}/crate-bad.list"; then
    fail "the allow-list accepted tests/suites/70-packaging.sh"
  fi
}

test_cargo_package_builds() {
  # Packs the crate and builds it from the packed sources (cargo's verification step).
  cargo package --locked --allow-dirty 2>&1 | tee "${work}/package.log"
  local crate="${CARGO_TARGET_DIR}/package/anaconda-ci-auth-${version}.crate" size
  [[ -f "${crate}" ]] || fail "no ${crate}"
  expect_in "${work}/package.log" "Verifying anaconda-ci-auth v${version}"
  size="$(wc -c <"${crate}")"
  ((size < 1024 * 1024)) || fail "the crate is ${size} bytes"
}

# ---- main ----------------------------------------------------------------------------------

main() {
  local start="${SECONDS}"
  runner_init "${work}"
  run_test "the packaging tools are installed (maturin, py-rattler, py-rattler-build, patchelf)" test_tools
  run_test "maturin builds the wheel (release build, offline)" test_wheel_builds
  run_test "the wheel holds only the binary, with complete metadata" test_wheel_metadata
  run_test "pip installs the wheel into a fresh venv; its binary runs the offline main job" test_wheel_installs_and_runs
  run_test "the sdist holds the crate and pyproject.toml, nothing else" test_sdist_contents
  run_test "install-binary.sh pip installs the wheel from a loopback index" test_install_binary_pip
  run_test "install-binary.sh pip refuses a plain-http index" test_install_binary_pip_refuses_plain_http
  run_test "both recipes name Cargo.toml's version" test_recipe_versions
  run_test "yamllint passes on both recipes" test_recipes_lint
  run_test "the conda-forge recipe, filled in, renders with conda-forge's compilers" test_conda_forge_recipe_renders
  run_test "rattler-build builds recipe/recipe.yaml and runs its tests (offline)" test_conda_builds
  run_test "py-rattler installs the package into a fresh prefix; its binary runs the main job" test_conda_installs_and_runs
  run_test "install-binary.sh conda installs the package from the local channel" test_install_binary_conda
  run_test "cargo package --list ships only allowed files (and a control)" test_cargo_package_list
  run_test "cargo package --locked builds the packaged crate" test_cargo_package_builds
  echo "packaging: took $((SECONDS - start))s"
  runner_finish packaging
}

main "$@"
