#!/usr/bin/env bats
# How the plugin obtains the binary: as a standalone plugin checkout (the buildkite/ folder with its
# own copy of the installer and checksums, made by scripts/package-buildkite-plugin.sh),
# downloading a release from a mirror on 127.0.0.1 and verifying it against the committed checksum,
# and refusing a tampered download.

load helpers

setup_file() {
  suite_setup_file
  # A release mirror serving the debug binary as version 9.9.9 for this machine's target.
  export MIRROR_DIR="${BATS_FILE_TMPDIR}/mirror"
  export ANACONDA_CI_AUTH_TARGET=x86_64-unknown-linux-musl
  export ASSET="anaconda-ci-auth-9.9.9-${ANACONDA_CI_AUTH_TARGET}"
  mkdir -p "${MIRROR_DIR}/v9.9.9"
  cp "${bin}" "${MIRROR_DIR}/v9.9.9/${ASSET}"
  "${venv}/bin/python" "${fixtures}/static-server.py" "${BATS_FILE_TMPDIR}/mirror.port" "${MIRROR_DIR}" 3>&- &
  echo "$!" >"${BATS_FILE_TMPDIR}/mirror.pid"
  local i
  for i in $(seq 1 100); do
    [[ -s "${BATS_FILE_TMPDIR}/mirror.port" ]] && break
    sleep 0.05
  done
  export ANACONDA_CI_AUTH_DOWNLOAD_BASE="http://127.0.0.1:$(cat "${BATS_FILE_TMPDIR}/mirror.port")"
}

teardown_file() {
  kill "$(cat "${BATS_FILE_TMPDIR}/mirror.pid")" 2>/dev/null || true
  suite_teardown_file
}

setup() {
  suite_setup
  # A standalone plugin repository, as the publishing step produces it: the plugin folder with
  # its copy of the installer and checksums, nowhere near this repository.
  standalone="${BATS_TEST_TMPDIR}/anaconda-ci-auth-buildkite-plugin"
  "${root}/scripts/package-buildkite-plugin.sh" "${standalone}" >/dev/null
  export FAKE_AGENT_DIR="${BATS_TEST_TMPDIR}/agent-calls"
  export PATH="${fixtures}/bin:/usr/local/bin:/usr/bin:/bin"
  export BUILDKITE=true BUILDKITE_JOB_ID="5b0e7d0e-1111-4c2a-8d55-0a9c7e4f3b21"
  export BUILDKITE_PLUGIN_NAME=ANACONDA_CI_AUTH
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE=offline
  export ANACONDA_AUTH_API_KEY="${canary_key}"
  dump="${BATS_TEST_TMPDIR}/hook-env.sh"
}

# Runs the standalone plugin's environment hook, a command and pre-exit, like the agent.
run_standalone_job() {
  env_rc=0 cmd_rc=0 exit_rc=0
  bash -c '. "$1" && export -p >"$2"' _ "${standalone}/hooks/environment" "${dump}" >>"${log}" 2>&1 || env_rc=$?
  if ((env_rc == 0)); then
    env -i bash -c '. "$1"; eval "$2"' _ "${dump}" "$1" >>"${log}" 2>&1 || cmd_rc=$?
    env -i bash -c '. "$1"; . "$2"' _ "${dump}" "${standalone}/hooks/pre-exit" >>"${log}" 2>&1 || exit_rc=$?
  fi
}

@test "a standalone plugin checkout downloads the release, verifies its checksum and uses it" {
  printf '%s  %s\n' "$(sha256sum "${bin}" | cut -d' ' -f1)" "${ASSET}" >"${standalone}/checksums/v9.9.9.txt"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=download
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VERSION=9.9.9
  run_standalone_job 'echo "bin=${ANACONDA_CI_AUTH_PLUGIN_BIN}"; echo "loaded-sha256=$('"${venv}"'/bin/python '"${fixtures}"'/load-key.py)"'
  run cat "${log}"
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "verified ${ASSET}"
  assert_output --partial "bin=${TMPDIR}/anaconda-ci-auth.bin.${BUILDKITE_JOB_ID}/bin/anaconda-ci-auth"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  # pre-exit removed the job directory and the downloaded binary
  run find "${TMPDIR}" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth*'
  assert_output ""
  assert_logs_clean "${log}"
}

@test "pre-exit removes the downloaded binary when setup failed in the environment hook" {
  printf '%s  %s\n' "$(sha256sum "${bin}" | cut -d' ' -f1)" "${ASSET}" >"${standalone}/checksums/v9.9.9.txt"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=download
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VERSION=9.9.9
  export ANACONDA_AUTH_API_KEY="${expired_key}"
  bash -c '. "$1"' _ "${standalone}/hooks/environment" >>"${log}" 2>&1 && fail "the environment hook passed"
  grep -q "setup failed with exit code 5" "${log}"
  assert [ -x "${TMPDIR}/anaconda-ci-auth.bin.${BUILDKITE_JOB_ID}/bin/anaconda-ci-auth" ]
  # The agent runs pre-exit without the exports of a failed environment hook.
  bash -c '. "$1"' _ "${standalone}/hooks/pre-exit" >>"${log}" 2>&1
  run find "${TMPDIR}" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth*'
  assert_output ""
  assert_logs_clean "${log}"
}

@test "a download whose checksum does not match is refused and never run" {
  printf '%s  %s\n' "$(printf 'tampered' | sha256sum | cut -d' ' -f1)" "${ASSET}" >"${standalone}/checksums/v9.9.9.txt"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=download
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VERSION=9.9.9
  run bash -c '. "$1"' _ "${standalone}/hooks/environment"
  assert_failure 1
  assert_output --partial "checksum mismatch"
  assert_output --partial "could not obtain anaconda-ci-auth 9.9.9 with install method \`download\`"
  run find "${TMPDIR}" -name 'anaconda-ci-auth' -type f
  assert_output ""
}

@test "a version without committed checksums is refused with a clear error" {
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=download
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VERSION=9.9.8
  run bash -c '. "$1"' _ "${standalone}/hooks/environment"
  assert_failure 1
  assert_output --partial "no checksums for version 9.9.8"
}

@test "a standalone plugin checkout uses the binary on PATH with install: path" {
  export PATH="$(dirname "${bin}"):${PATH}"
  export BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_INSTALL=path
  run_standalone_job 'echo "bin=${ANACONDA_CI_AUTH_PLUGIN_BIN}"'
  run cat "${log}"
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "bin=${bin}"
  assert_logs_clean "${log}"
}

@test "the README's first example runs as written: download, the secret, online validation, register, the command, pre-exit" {
  local version asset
  version="$("${bin}" --version | awk '{print $2}')"
  asset="anaconda-ci-auth-${version}-${ANACONDA_CI_AUTH_TARGET}"
  # The release under test: the debug binary as this version's asset, with its checksum in the
  # plugin's committed checksums, as the release process writes them.
  mkdir -p "${MIRROR_DIR}/v${version}"
  cp "${bin}" "${MIRROR_DIR}/v${version}/${asset}"
  printf '%s  %s\n' "$(sha256sum "${bin}" | cut -d' ' -f1)" "${asset}" >"${standalone}/checksums/v${version}.txt"
  # The first pipeline step of the README: its plugin options as the agent passes them, and its command.
  "${venv}/bin/python" - "${root}/buildkite/README.md" "${BATS_TEST_TMPDIR}/example" <<'PY'
import re, shlex, sys, yaml
block = re.findall(r"```yaml\n(.*?)```", open(sys.argv[1]).read(), re.S)[0]
step = yaml.safe_load(block)["steps"][0]
(name, options), = step["plugins"][0].items()
assert name == "anaconda-ci-auth/anaconda-ci-auth#v0.1.0", name
lines = []
for key, value in (options or {}).items():
    var = "BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_" + key.upper().replace("-", "_")
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        v = str(v).lower() if isinstance(v, bool) else str(v)
        lines.append(f"export {var}{'_' + str(i) if isinstance(value, list) else ''}={shlex.quote(v)}")
open(sys.argv[2] + ".env", "w").write("\n".join(lines) + "\n")
open(sys.argv[2] + ".command", "w").write(step["command"])
PY
  # The example's defaults, not the test's: download, online validation, the key only as a secret.
  unset BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_VALIDATE ANACONDA_AUTH_API_KEY
  # shellcheck source=/dev/null
  . "${BATS_TEST_TMPDIR}/example.env"
  assert_equal "${BUILDKITE_PLUGIN_ANACONDA_CI_AUTH_API_KEY_SECRET}" ANACONDA_API_KEY
  export FAKE_AGENT_SECRETS="${BATS_TEST_TMPDIR}/secrets"
  mkdir -p "${FAKE_AGENT_SECRETS}"
  printf '%s' "${canary_key}" >"${FAKE_AGENT_SECRETS}/ANACONDA_API_KEY"
  export ANACONDA_CI_AUTH_API_URL="${FAKE_API_URL}"
  export PATH="${fixtures}/bin:${fixtures_dir}/readme-conda:/usr/local/bin:/usr/bin:/bin"
  export FAKE_CONDA_PYTHON="${venv}/bin/python" FAKE_CONDA_LOG="${BATS_TEST_TMPDIR}/conda.log"
  run_standalone_job "$(cat "${BATS_TEST_TMPDIR}/example.command")"
  run cat "${log}"
  assert_equal "${env_rc}/${cmd_rc}/${exit_rc}" "0/0/0"
  assert_output --partial "verified ${asset}"
  assert_output --partial "ci-bot"
  assert_output --partial "fake-conda: https://repo.anaconda.cloud/repo/main routed to anaconda-auth; key sha256=${SUITE_CANARY_SHA256}"
  run cat "${FAKE_CONDA_LOG}"
  assert_line "fake-conda: https://repo.anaconda.cloud/repo/anaconda-tools routed to anaconda-auth; key sha256=${SUITE_CANARY_SHA256}"
  grep -q " ${SUITE_CANARY_SHA256} 200\$" "${FAKE_API_LOG}"
  run find "${TMPDIR}" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth*'
  assert_output ""
  assert_logs_clean "${log}" "${FAKE_CONDA_LOG}"
}
