#!/usr/bin/env bats
# The plugin's environment and pre-exit hooks with the real binary, run the way the Buildkite agent
# runs a job: the environment hook is sourced and its exported variables are captured, the
# command runs in a new shell with exactly those variables, then pre-exit runs (also after a
# failing command). buildkite-agent is a recording fake (or a bats-mock stub) on PATH.

load helpers

plugin="$(cd "${BATS_TEST_DIRNAME}/../../buildkite" && pwd)"

setup_file() {
  suite_setup_file
}

teardown_file() {
  suite_teardown_file
}

setup() {
  suite_setup
  export FAKE_AGENT_DIR="${BATS_TEST_TMPDIR}/agent-calls"
  export FAKE_AGENT_SECRETS="${BATS_TEST_TMPDIR}/agent-secrets"
  mkdir -p "${FAKE_AGENT_SECRETS}"
  export PATH="${fixtures}/bin:$(dirname "${bin}"):/usr/local/bin:/usr/bin:/bin"
  export BUILDKITE=true
  export BUILDKITE_JOB_ID="0190f0a4-6d1c-4a3e-9a2e-5f1f6c1f2b3c"
  export BUILDKITE_PLUGIN_NAME=ANACONDA_CI_AUTH
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=path
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=offline
  export ANACONDA_AUTH_API_KEY="${canary_key}"
  unset ANACONDA_CI_AUTH_STATE CONDARC ANACONDA_AUTH_KEYRING_PATH ANACONDA_CI_AUTH_PLUGIN_BIN
  dump="${BATS_TEST_TMPDIR}/hook-env.sh"
}

# run_job COMMAND: environment hook, COMMAND, pre-exit, like the agent; output in ${log}, the
# three exit codes in env_rc, cmd_rc and exit_rc.
run_job() {
  env_rc=0 cmd_rc=0 exit_rc=0
  rm -f "${dump}"
  bash -c '. "$1" && export -p >"$2"' _ "${plugin}/hooks/environment" "${dump}" >>"${log}" 2>&1 || env_rc=$?
  if ((env_rc == 0)); then
    env -i bash -c '. "$1"; eval "$2"' _ "${dump}" "$1" >>"${log}" 2>&1 || cmd_rc=$?
    env -i bash -c '. "$1"; . "$2"' _ "${dump}" "${plugin}/hooks/pre-exit" >>"${log}" 2>&1 || exit_rc=$?
  else
    bash -c '. "$1"' _ "${plugin}/hooks/pre-exit" >>"${log}" 2>&1 || exit_rc=$?
  fi
}

# What the command reports about its environment (no secrets): the key hash anaconda-auth loads.
probe_command() {
  printf '%s' "echo \"loaded-sha256=\$('${venv}/bin/python' '${fixtures}/load-key.py')\"; \
echo \"key-var=\${ANACONDA_AUTH_API_KEY:+set}\"; echo \"condarc=\${CONDARC}\"; \
echo \"state=\${ANACONDA_CI_AUTH_STATE}\""
}

# Reads the log produced by run_job.
log_output() {
  run cat "${log}"
}

@test "the command loads the key with the real anaconda-auth from the job keyring" {
  run_job "$(probe_command)"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  # keyring mode: the source variable is removed, so anaconda-auth must have read the keyring file
  assert_output --partial "key-var="$'\n'
  assert_output --regexp "condarc=${TMPDIR}/anaconda-ci-auth-[^/]+/condarc.yml"
  assert_logs_clean "${log}"
}

@test "the key and every derived form reach buildkite-agent redactor add on stdin, never argv" {
  run_job "true"
  assert_equal "${env_rc}" 0
  local forms form found f calls
  calls="$(find "${FAKE_AGENT_DIR}" -name '*.argv' | wc -l)"
  ((calls >= 5))
  for f in "${FAKE_AGENT_DIR}"/*.argv; do
    [[ "$(cat "${f}")" == $'redactor\nadd' ]] && continue
    # the summary annotation, whose body is checked below with the logs
    assert_equal "$(cat "${f}")" $'annotate\n--context\nanaconda-ci-auth\n--style\ninfo\n--append'
  done
  # no argument of any call carries the key or a form of it
  cat "${FAKE_AGENT_DIR}"/*.argv >"${BATS_TEST_TMPDIR}/argv.log"
  assert_logs_clean "${BATS_TEST_TMPDIR}/argv.log"
  mapfile -t forms < <(leak_forms "${canary_key}")
  for form in "${forms[@]}"; do
    found=no
    for f in "${FAKE_AGENT_DIR}"/*.stdin; do
      if [[ "$(cat "${f}")" == "${form}" ]]; then found=yes; fi
    done
    assert_equal "${found}" yes
  done
  assert_logs_clean "${log}"
}

@test "pre-exit removes the job directory after a successful command" {
  run_job 'test -s "${ANACONDA_AUTH_KEYRING_PATH}" && echo "keyring-present"'
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "keyring-present"
  assert_output --partial "removed ${TMPDIR}/anaconda-ci-auth-"
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "pre-exit removes everything after a failing command" {
  run_job 'echo "dir=$(dirname "${ANACONDA_CI_AUTH_STATE}")"; exit 3'
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/3/0"
  local dir
  dir="$(sed -n 's/^dir=//p' "${log}")"
  [[ -n "${dir}" ]]
  assert [ ! -e "${dir}" ]
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "pre-exit is safe when setup never ran" {
  run bash -c '. "$1"' _ "${plugin}/hooks/pre-exit"
  assert_success
  assert_output --partial "nothing to clean up"
}

@test "pre-exit finds the job's directory by job id when the state variable is lost" {
  run_job "true"
  # Run setup again but drop ANACONDA_CI_AUTH_STATE before pre-exit, as a hook that lost it would.
  bash -c '. "$1" && export -p >"$2"' _ "${plugin}/hooks/environment" "${dump}" >>"${log}" 2>&1
  run job_dirs
  assert [ -n "${output}" ]
  run env -i bash -c '. "$1"; unset ANACONDA_CI_AUTH_STATE; . "$2"' _ "${dump}" "${plugin}/hooks/pre-exit"
  assert_success
  run job_dirs
  assert_output ""
}

@test "mode env exports ANACONDA_AUTH_API_KEY that anaconda-auth uses, and pre-exit removes the key file" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_MODE=env
  run_job "$(probe_command); test -f \"\$(dirname \"\${ANACONDA_CI_AUTH_STATE}\")/api-key\" && echo key-file"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_output --partial "key-var=set"
  assert_output --partial "key-file"
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "api-key-env names another variable, which is removed from the command's environment" {
  unset ANACONDA_AUTH_API_KEY
  export MY_ANACONDA_KEY="${canary_key}"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_ENV=MY_ANACONDA_KEY
  run_job "$(probe_command); echo \"my-key=\${MY_ANACONDA_KEY:+set}\""
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_output --partial "my-key="$'\n'
  assert_logs_clean "${log}"
}

@test "unset-key-env false keeps the source variable for the command" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_UNSET_KEY_ENV=false
  run_job 'echo "key-var=${ANACONDA_AUTH_API_KEY:+set}"'
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "key-var=set"
  assert_logs_clean "${log}"
}

@test "api-key-secret pipes a Buildkite secret into setup on stdin" {
  unset ANACONDA_AUTH_API_KEY
  printf '%s' "${canary_key}" >"${FAKE_AGENT_SECRETS}/ANACONDA_KEY"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_SECRET=ANACONDA_KEY
  run_job "$(probe_command)"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_equal "$(cat "${FAKE_AGENT_DIR}/0.argv")" $'secret\nget\nANACONDA_KEY'
  assert_logs_clean "${log}"
}

@test "api-key-file reads the key from a file" {
  unset ANACONDA_AUTH_API_KEY
  printf '%s\n' "${canary_key}" >"${BATS_TEST_TMPDIR}/key"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_FILE="${BATS_TEST_TMPDIR}/key"
  run_job "$(probe_command)"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_logs_clean "${log}"
}

@test "channels given as a list reach the job condarc" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CHANNELS_0="https://mirror.example.com/*"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CHANNELS_1="https://other.example.com/*=anaconda.com"
  run_job 'cat "${CONDARC}"'
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "https://mirror.example.com/*"
  assert_output --partial "https://other.example.com/*"
  assert_logs_clean "${log}"
}

@test "a vendored plugin reads its configuration under the name the agent gives it" {
  export BUILDKITE_PLUGIN_NAME=BUILDKITE
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE
  export BUILDKITE_PLUGIN_BUILDKITE_INSTALL=path
  export BUILDKITE_PLUGIN_BUILDKITE_VALIDATE=offline
  export BUILDKITE_PLUGIN_BUILDKITE_MODE=bogus
  run_job "true"
  log_output
  assert_equal "${env_rc}" 2
  assert_output --partial '`mode` must be one of: keyring env both; got `bogus`'
  export BUILDKITE_PLUGIN_BUILDKITE_MODE=keyring
  : >"${log}"
  run_job "$(probe_command)"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
}

@test "online validation passes against the fake API (200) and reports the account" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=online
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_URL="${FAKE_API_URL}"
  local before
  before="$(grep -c ' 200$' "${FAKE_API_LOG}" || true)"
  run_job "$(probe_command)"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "ci-bot"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert [ "$(grep -c ' 200$' "${FAKE_API_LOG}")" -gt "${before}" ]
  assert_logs_clean "${log}"
}

@test "online validation fails the job with a clear error when the API answers 401" {
  export ANACONDA_AUTH_API_KEY="${SUITE_OTHER_KEY}"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=online
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_URL="${FAKE_API_URL}"
  run_job "echo command-ran"
  log_output
  assert_equal "${env_rc}/${exit_rc}" "6/0"
  refute_output --partial "command-ran"
  assert_output --partial "setup failed with exit code 6"
  assert_output --partial "^^^ +++"
  grep -q ' 401$' "${FAKE_API_LOG}"
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "an expired key fails with a clear error and leaves nothing behind" {
  export ANACONDA_AUTH_API_KEY="${expired_key}"
  run_job "echo command-ran"
  log_output
  assert_equal "${env_rc}/${exit_rc}" "5/0"
  assert_output --partial "setup failed with exit code 5"
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "a missing key variable gives an error that names it, with the documented exit code 3" {
  unset ANACONDA_AUTH_API_KEY
  run_job "echo command-ran"
  log_output
  assert_equal "${env_rc}" 3
  assert_output --partial 'environment variable `ANACONDA_AUTH_API_KEY` that should hold the Anaconda API key is not set'
  refute_output --partial "command-ran"
}

@test "a missing key file or an empty Buildkite secret ends the job with exit code 3" {
  unset ANACONDA_AUTH_API_KEY
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_FILE="${BATS_TEST_TMPDIR}/no-such-key"
  run_job "echo command-ran"
  log_output
  assert_equal "${env_rc}" 3
  assert_output --partial "no-such-key\` (api-key-file) does not exist"
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_FILE
  # the fake agent has no such secret: setup reads nothing on stdin
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_SECRET=NO_SUCH_SECRET
  : >"${log}"
  run_job "echo command-ran"
  log_output
  assert_equal "${env_rc}" 3
  assert_output --partial "setup failed with exit code 3"
  refute_output --partial "command-ran"
}

@test "bad configuration gives clear errors" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=sometimes
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial '`validate` must be one of: online offline none; got `sometimes`'
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=offline

  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_FILE=/some/file
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_ENV=ANACONDA_AUTH_API_KEY
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial 'set only one of `api-key-env`, `api-key-file` and `api-key-secret`'
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_FILE

  # someone pasted the key itself instead of a variable name
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_ENV="${canary_key}"
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial '`api-key-env` must be a variable name'
  printf '%s\n' "${output}" >"${BATS_TEST_TMPDIR}/bad.log"
  assert_logs_clean "${BATS_TEST_TMPDIR}/bad.log"
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_ENV

  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_REGISTER=yes
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial '`register` must be one of: true false; got `yes`'
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_REGISTER

  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_MIN_VALIDITY=soon
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial "min-validity"
}

@test "install path without the binary on PATH gives a clear error" {
  export PATH="${fixtures}/bin:/usr/bin:/bin"
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 1
  assert_output --partial "anaconda-ci-auth"
  assert_output --partial "PATH"
}

@test "shell tracing stays off while the hook handles the key, even if the agent traces" {
  run bash -xc '. "$1"' _ "${plugin}/hooks/environment"
  assert_success
  printf '%s\n' "${output}" >"${BATS_TEST_TMPDIR}/trace.log"
  assert_logs_clean "${BATS_TEST_TMPDIR}/trace.log"
  # the trace stops right at the start: nothing after `set +x` is traced
  refute_output --partial "+ check_config"
}

@test "the build gets a redacted annotation from setup and cleanup; summary: false turns it off" {
  run_job "true"
  assert_equal "${env_rc}/${exit_rc}" "0/0"
  assert [ -s "${FAKE_AGENT_DIR}/annotation.md" ]
  run cat "${FAKE_AGENT_DIR}/annotation.md"
  assert_output --partial "### anaconda-ci-auth"
  assert_output --partial "| fingerprint |"
  assert_output --partial "**anaconda-ci-auth cleanup**: removed "
  assert_logs_clean "${FAKE_AGENT_DIR}/annotation.md"
  rm -rf "${FAKE_AGENT_DIR}"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_SUMMARY=false
  run_job "true"
  assert_equal "${env_rc}/${exit_rc}" "0/0"
  assert [ ! -e "${FAKE_AGENT_DIR}/annotation.md" ]
  run grep -l annotate "${FAKE_AGENT_DIR}"/*.argv
  assert_output ""
}

@test "a redactor failure is reported as a warning (bats-mock stub)" {
  stub buildkite-agent "redactor add : cat >/dev/null; exit 1" \
    "annotate --context anaconda-ci-auth --style info --append : cat >/dev/null"
  export PATH="${BATS_MOCK_BINDIR}:$(dirname "${bin}"):/usr/bin:/bin"
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_success
  assert_output --partial "could not register the key with \`buildkite-agent redactor add\`"
  unstub buildkite-agent
  printf '%s\n' "${output}" >"${BATS_TEST_TMPDIR}/warn.log"
  assert_logs_clean "${BATS_TEST_TMPDIR}/warn.log"
  # setup wrote a job directory (nothing runs pre-exit in this test): remove it
  "${bin}" cleanup --ci buildkite >/dev/null 2>&1
}

@test "register: true runs the configured conda to install anaconda-registration with the job's key" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_REGISTER=true
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CONDA="${fixtures}/fake-conda"
  export FAKE_CONDA_LOG="${BATS_TEST_TMPDIR}/conda.log" FAKE_CONDA_PYTHON="${venv}/bin/python"
  run_job "true"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  run cat "${FAKE_CONDA_LOG}"
  assert_line --index 0 "conda list --name base --json --full-name anaconda-registration"
  assert_line --partial "conda install --name base anaconda-registration"
  assert_line "install-env loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_logs_clean "${log}" "${FAKE_CONDA_LOG}"
}

@test "domain and a comma-separated channels string reach anaconda-auth and the condarc" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_DOMAIN=anaconda.example.com
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CHANNELS="https://a.example.com/*,https://b.example.com/*"
  run_job "$(probe_command); echo \"domain=\${ANACONDA_AUTH_DOMAIN}\"; cat \"\${CONDARC}\""
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "domain=anaconda.example.com"
  # load-key.py asks anaconda-auth for the key of ANACONDA_AUTH_DOMAIN
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  assert_output --partial "https://a.example.com/*"
  assert_output --partial "https://b.example.com/*"
  assert_logs_clean "${log}"
}

@test "clients and accept-tos options give the command pixi's 0600 auth file and the ToS acceptance" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CLIENTS_0=conda
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CLIENTS_1=pixi
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_ACCEPT_TOS=true
  run_job "sh '${fixtures_dir}/check-clients.sh' conda pixi no-uv tos"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "check-clients: ok conda pixi no-uv tos"
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}

@test "without options the job's ANACONDA_CI_AUTH_VALIDATE, _CLIENTS and _ACCEPT_TOS apply; accept-tos false wins" {
  export ANACONDA_CI_AUTH_CLIENTS=conda,uv ANACONDA_CI_AUTH_ACCEPT_TOS=true
  # Without the validate option the job's ANACONDA_CI_AUTH_VALIDATE applies (online would fail
  # here: no API is reachable).
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE
  export ANACONDA_CI_AUTH_VALIDATE=offline
  run_job "sh '${fixtures_dir}/check-clients.sh' conda uv no-pixi tos"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "check-clients: ok conda uv no-pixi tos"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_ACCEPT_TOS=false
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_CLIENTS="conda, pixi"
  : >"${log}"
  run_job "sh '${fixtures_dir}/check-clients.sh' conda pixi no-uv no-tos"
  log_output
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "check-clients: ok conda pixi no-uv no-tos"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_ACCEPT_TOS=yes
  run bash -c '. "$1"' _ "${plugin}/hooks/environment"
  assert_failure 2
  assert_output --partial '`accept-tos` must be one of: true false; got `yes`'
  run job_dirs
  assert_output ""
  assert_logs_clean "${log}"
}
