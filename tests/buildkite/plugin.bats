#!/usr/bin/env bats
# Static checks of the plugin: lint, plugin.yml's schema and the README examples against it, and
# the copies a standalone plugin repository carries (made by scripts/package-buildkite-plugin.sh)
# being identical to the repository's.

load helpers

plugin="$(cd "${BATS_TEST_DIRNAME}/../../buildkite" && pwd)"

setup() {
  load_test_libs
}

@test "shellcheck passes on every hook and library" {
  run shellcheck -x "${plugin}/hooks/environment" "${plugin}/hooks/pre-exit" "${plugin}/lib/plugin.bash" \
    "${BATS_TEST_DIRNAME}/helpers.bash" "${fixtures}/bin/buildkite-agent" "${fixtures}/fake-conda"
  assert_success
}

@test "yamllint passes on plugin.yml" {
  run yamllint -c "${root}/.yamllint" "${plugin}/plugin.yml"
  assert_success
}

@test "plugin.yml is strict: additionalProperties false and a description for every property" {
  run python3 - "${plugin}/plugin.yml" <<'PY'
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))["configuration"]
assert conf["additionalProperties"] is False, "additionalProperties must be false"
missing = [name for name, prop in conf["properties"].items() if not prop.get("description")]
assert not missing, f"properties without a description: {missing}"
print(len(conf["properties"]), "properties described")
PY
  assert_success
  assert_output --partial "properties described"
}

@test "the README's configuration table lists every option of plugin.yml" {
  run "${venv}/bin/python" - "${plugin}/plugin.yml" "${plugin}/README.md" <<'PY'
import sys, yaml
options = yaml.safe_load(open(sys.argv[1]))["configuration"]["properties"]
readme = open(sys.argv[2]).read()
missing = [name for name in options if f"| `{name}` |" not in readme]
assert not missing, f"options missing from the README's configuration table: {missing}"
print(len(options), "options documented")
PY
  assert_success
  assert_output --regexp "^[0-9]+ options documented$"
}

@test "every pipeline example in the README validates against plugin.yml" {
  run python3 "${fixtures}/check-examples.py" "${plugin}/plugin.yml" "${plugin}/README.md"
  assert_success
  assert_output --regexp "[5-9] configurations, 0 invalid"
}

@test "the schema rejects misspelt options, bad values, two key sources and a pasted key" {
  run python3 "${fixtures}/check-examples.py" "${plugin}/plugin.yml" "${fixtures}/bad-examples.yml"
  assert_failure
  assert_output --partial "8 configurations, 8 invalid"
}

@test "the plugin's default binary version is the crate version" {
  local crate plugin_version
  crate="$(sed -n 's/^version = "\(.*\)"/\1/p' "${root}/Cargo.toml" | head -n 1)"
  plugin_version="$(sed -n 's/^ANACONDA_CI_AUTH_PLUGIN_DEFAULT_VERSION="\(.*\)"/\1/p' "${plugin}/lib/plugin.bash")"
  assert_equal "${plugin_version}" "${crate}"
  run grep -c "anaconda-ci-auth#v${crate}" "${plugin}/README.md"
  assert_output --regexp '^[1-9]'
}

@test "the plugin's installer and checksums are identical to the repository's" {
  local out="${BATS_TEST_TMPDIR}/package"
  run "${root}/scripts/package-buildkite-plugin.sh" "${out}"
  assert_success
  run diff "${root}/scripts/install-binary.sh" "${out}/lib/install-binary.sh"
  assert_success
  run diff -r "${root}/checksums" "${out}/checksums"
  assert_success
  # The rest of the package is the plugin folder as committed.
  run diff -r -x install-binary.sh -x checksums "${plugin}" "${out}"
  assert_success
}

@test "no hand-kept copy of the installer or checksums is committed in the plugin folder" {
  run git -C "${root}" ls-files -- buildkite/lib/install-binary.sh buildkite/checksums
  assert_success
  assert_output ""
}

@test "the packaging step refuses a non-empty output directory" {
  local out="${BATS_TEST_TMPDIR}/package"
  mkdir -p "${out}"
  touch "${out}/keep"
  run "${root}/scripts/package-buildkite-plugin.sh" "${out}"
  assert_failure
  assert_output --partial "is not an empty directory"
}
