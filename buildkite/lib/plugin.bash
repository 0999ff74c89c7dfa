#!/usr/bin/env bash
# Shared functions of the anaconda-ci-auth Buildkite plugin hooks: reading the plugin
# configuration, messages, checking the configuration and obtaining the binary.
# Sourced by hooks/environment and hooks/pre-exit; it never reads or prints the key itself.

# The binary version this plugin release installs unless `version` is configured.
# Kept equal to the crate version by the test suite.
# shellcheck disable=SC2034  # read by hooks/environment
ANACONDA_CI_AUTH_PLUGIN_DEFAULT_VERSION="0.1.0"

# The plugin's directory (the folder holding plugin.yml), whether vendored or checked out alone.
plugin_dir() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Buildkite names configuration variables after the plugin's location (the last path element
# without -buildkite-plugin), so read the prefix from BUILDKITE_PLUGIN_NAME when the agent sets it.
config_prefix() {
  printf 'BUILDKITE_PLUGIN_%s_' "${BUILDKITE_PLUGIN_NAME:-ANACONDA_CI_AUTH}"
}

# config NAME [DEFAULT]: the value of option NAME (upper case, underscores), or DEFAULT.
config() {
  local var
  var="$(config_prefix)$1"
  printf '%s' "${!var:-${2:-}}"
}

# config_is_set NAME: whether option NAME was given.
config_is_set() {
  local var
  var="$(config_prefix)$1"
  [[ -n "${!var+set}" ]]
}

# config_list NAME: the option as lines, from a list (NAME_0, NAME_1, ...) or a single string.
config_list() {
  local prefix i var
  prefix="$(config_prefix)$1"
  if [[ -n "${!prefix:-}" ]]; then
    printf '%s\n' "${!prefix}"
    return
  fi
  i=0
  var="${prefix}_${i}"
  while [[ -n "${!var+set}" ]]; do
    printf '%s\n' "${!var}"
    i=$((i + 1))
    var="${prefix}_${i}"
  done
}

info() {
  printf 'anaconda-ci-auth: %s\n' "$*" >&2
}

warn() {
  printf 'anaconda-ci-auth: warning: %s\n' "$*" >&2
}

# fail_with CODE MESSAGE [HINT...]: expands the log group (so the error is visible), prints the
# error and hints on stderr, and exits CODE, one of the binary's documented exit codes (README
# "Exit codes"): 2 for a configuration error, 3 for a missing key. Callers of functions run in
# $(...) must propagate the status.
fail_with() {
  local code="$1" hint
  shift
  printf '^^^ +++\n' >&2
  printf 'anaconda-ci-auth plugin: error: %s\n' "$1" >&2
  shift
  for hint in "$@"; do
    printf '  help: %s\n' "${hint}" >&2
  done
  exit "${code}"
}

# fail MESSAGE [HINT...]: fail_with 1, for failures of the plugin itself (no binary, no cleanup).
fail() {
  fail_with 1 "$@"
}

# check_choice OPTION VALUE CHOICE...: fails unless VALUE is one of the choices.
check_choice() {
  local option="$1" value="$2" choice
  shift 2
  for choice in "$@"; do
    [[ "${value}" == "${choice}" ]] && return 0
  done
  fail_with 2 "\`${option}\` must be one of: $*; got \`${value}\`" "fix the plugin configuration in pipeline.yml"
}

# check_bool OPTION VALUE: fails unless VALUE is true or false.
check_bool() {
  check_choice "$1" "$2" true false
}

# check_name OPTION VALUE: fails unless VALUE can be an environment variable or secret name.
check_name() {
  if [[ ! "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    fail_with 2 "\`$1\` must be a variable name such as ANACONDA_AUTH_API_KEY (the name, not the key)" \
      "never put the key itself in pipeline.yml: it is stored with the build"
  fi
}

# The installer: this repository's scripts/install-binary.sh when the plugin is used from a
# checkout of the repository (`./buildkite`), else the copy in lib/ that a standalone plugin
# repository carries, with checksums/ at the plugin root (both produced by
# scripts/package-buildkite-plugin.sh, never edited by hand).
installer() {
  local dir
  dir="$(plugin_dir)"
  if [[ -f "${dir}/../scripts/install-binary.sh" && -f "${dir}/../Cargo.toml" ]] &&
    grep -q '^name = "anaconda-ci-auth"' "${dir}/../Cargo.toml"; then
    printf '%s\n' "$(cd "${dir}/.." && pwd)/scripts/install-binary.sh"
  else
    printf '%s\n' "${dir}/lib/install-binary.sh"
  fi
}

# install_dir: where download/source put the binary for this job (removed again by pre-exit).
install_dir() {
  local job="${BUILDKITE_JOB_ID:-job}"
  printf '%s/anaconda-ci-auth.bin.%s\n' "${TMPDIR:-/tmp}" "${job//[^A-Za-z0-9-]/_}"
}

# obtain_binary METHOD VERSION: prints the path of a working anaconda-ci-auth binary.
obtain_binary() {
  local method="$1" version="$2" script bin
  script="$(installer)"
  if [[ ! -f "${script}" ]]; then
    fail "the plugin is incomplete: ${script} is missing" "check out the plugin again"
  fi
  if ! bin="$(ANACONDA_CI_AUTH_INSTALL_DIR="$(install_dir)" bash "${script}" "${method}" "${version}")" ||
    [[ -z "${bin}" ]]; then
    fail "could not obtain anaconda-ci-auth ${version} with install method \`${method}\` (see above)" \
      "install: path uses the anaconda-ci-auth already on PATH; install: download needs network access to the release"
  fi
  if [[ ! -x "${bin}" ]] || ! "${bin}" --version >/dev/null 2>&1; then
    fail "\`${bin}\` is not a working anaconda-ci-auth binary"
  fi
  printf '%s\n' "${bin}"
}
