#!/usr/bin/env bats
# The Jenkins steps: the example Jenkinsfile's `sh '''...'''` blocks and the jenkins/ scripts run
# the way Jenkins runs `sh` steps: each in a new `/bin/sh -xe` with only Jenkins' variables
# (WORKSPACE, WORKSPACE_TMP, BUILD_TAG, ...), in the workspace, with ANACONDA_AUTH_API_KEY only
# inside withCredentials blocks. The real binary, a fake conda that asks the real anaconda-auth
# which key it would send, and a fake Anaconda API on 127.0.0.1.

load ../buildkite/helpers

jenkins_src="$(cd "${BATS_TEST_DIRNAME}/../../jenkins" && pwd)"
jenkins_fixtures="$(cd "${BATS_TEST_DIRNAME}/fixtures" && pwd)"

setup_file() {
  suite_setup_file
}

teardown_file() {
  suite_teardown_file
}

setup() {
  suite_setup
  workspace="${BATS_TEST_TMPDIR}/workspace/team_anaconda job"
  mkdir -p "${workspace}" "${workspace}@tmp"
  cp -R "${jenkins_src}" "${workspace}/jenkins"
  key_file="${BATS_TEST_TMPDIR}/credential"
  (umask 077 && printf '%s' "${canary_key}" >"${key_file}")
  steps="${BATS_TEST_TMPDIR}/steps"
  mkdir -p "${steps}"
  jenkins_env=(
    "HOME=${HOME}" "TMPDIR=${TMPDIR}" "LANG=C.UTF-8"
    "PATH=${jenkins_fixtures}/bin:$(dirname "${bin}"):/usr/local/bin:/usr/bin:/bin"
    "WORKSPACE=${workspace}" "WORKSPACE_TMP=${workspace}@tmp"
    "JENKINS_URL=http://jenkins.example.com/" "JOB_NAME=team/anaconda job" "BUILD_NUMBER=42"
    "BUILD_ID=42" "BUILD_TAG=jenkins-team-anaconda job-42" "NODE_NAME=built-in" "EXECUTOR_NUMBER=0"
    "ANACONDA_CI_AUTH_API_URL=${FAKE_API_URL}"
    "FAKE_CONDA_PYTHON=${venv}/bin/python" "FAKE_CONDA_LOAD_KEY=${fixtures}/load-key.py"
  )
}

# sh_step credentials|plain SCRIPT_FILE [VAR=value...]: one Jenkins `sh` step. With credentials the
# key is in the step's environment, as withCredentials puts it (read from a file inside the
# step's own shell, so it is on no command line). Output goes to ${log}; returns the step's status.
sh_step() {
  local creds="$1" script="$2"
  shift 2
  local kf=""
  [[ "${creds}" == credentials ]] && kf="${key_file}"
  (cd "${workspace}" && env -i "${jenkins_env[@]}" "$@" KEY_FILE="${kf}" bash -c '
    if [ -n "${KEY_FILE}" ]; then ANACONDA_AUTH_API_KEY="$(cat "${KEY_FILE}")"; export ANACONDA_AUTH_API_KEY; fi
    unset KEY_FILE
    exec /bin/sh -xe "$0"' "${script}") >>"${log}" 2>&1
}

# step_file NAME TEXT: writes a step script.
step_file() {
  printf '%s\n' "$2" >"${steps}/$1.sh"
  printf '%s\n' "${steps}/$1.sh"
}

job_dirs_anywhere() {
  find "${TMPDIR}" "${workspace}@tmp" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth-*'
}

@test "the Jenkinsfile's sh steps run in order, each in a new shell, and leave nothing behind" {
  run "${venv}/bin/python" "${jenkins_fixtures}/sh-steps.py" "${jenkins_src}/Jenkinsfile" "${steps}"
  assert_success
  assert_equal "${#lines[@]}" 5
  local line n creds stage rc
  local -a results=()
  for line in "${lines[@]}"; do
    read -r n creds stage <<<"${line}"
    echo "=== step ${n} (${creds}) ${stage}" >>"${log}"
    rc=0
    sh_step "${creds}" "${steps}/${n}.sh" || rc=$?
    results+=("${stage}:${creds}:${rc}")
  done
  assert_equal "${results[*]}" "Set up conda auth:credentials:0 Install:plain:0 One step:credentials:0 Isolated command:credentials:0 post:plain:0"
  run cat "${log}"
  # conda got the key in every stage: from the job keyring in the Install stage (a new shell without
  # the credential), set up in the same shell, and through exec
  assert_equal "$(grep -c "^loaded-sha256=${SUITE_CANARY_SHA256}\$" "${log}")" 3
  assert_output --regexp "=== step 02 \(plain\) Install"$'\n'".*fake-conda install --yes --name base numpy"$'\n'"key-var="$'\n'"condarc=${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-42/condarc.yml"
  # online validation went to the fake API (the Jenkinsfile's ANACONDA_CI_AUTH_API_URL)
  assert [ "$(grep -c ' 200$' "${FAKE_API_LOG}")" -ge 3 ]
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "post cleanup removes the job directory after a failing build step" {
  local setup build post dir
  setup="$(step_file setup 'set +x
jenkins/anaconda-ci-auth-setup.sh --validate offline >/dev/null')"
  build="$(step_file build 'set +x
. jenkins/anaconda-ci-auth-env.sh
conda install --yes numpy
exit 1')"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  sh_step credentials "${setup}"
  dir="${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-42"
  assert [ -f "${dir}/keyring" ]
  assert_equal "$(stat -c %a "${dir}")" 700
  run sh_step plain "${build}"
  assert_failure 1
  sh_step plain "${post}"
  assert [ ! -e "${dir}" ]
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "without WORKSPACE_TMP the directory goes to WORKSPACE@tmp; ANACONDA_CI_AUTH_DIR overrides it" {
  local setup post
  setup="$(step_file setup 'jenkins/anaconda-ci-auth-setup.sh --validate offline >/dev/null')"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  jenkins_env=("${jenkins_env[@]/WORKSPACE_TMP=*/UNUSED=1}")
  sh_step credentials "${setup}"
  assert [ -f "${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-42/env.sh" ]
  sh_step plain "${post}"
  run job_dirs_anywhere
  assert_output ""
  sh_step credentials "${setup}" "ANACONDA_CI_AUTH_DIR=${BATS_TEST_TMPDIR}/branch-a"
  assert [ -f "${BATS_TEST_TMPDIR}/branch-a/keyring" ]
  sh_step plain "${post}" "ANACONDA_CI_AUTH_DIR=${BATS_TEST_TMPDIR}/branch-a"
  assert [ ! -e "${BATS_TEST_TMPDIR}/branch-a" ]
  assert_logs_clean "${log}"
}

@test "mode env: a later step gets ANACONDA_AUTH_API_KEY from the key file, and cleanup removes it" {
  local setup use post
  setup="$(step_file setup 'jenkins/anaconda-ci-auth-setup.sh --validate offline --mode env >/dev/null')"
  use="$(step_file use '. jenkins/anaconda-ci-auth-env.sh
conda install --yes numpy')"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  sh_step credentials "${setup}"
  sh_step plain "${use}"
  run cat "${log}"
  assert_output --partial "key-var=set"
  assert_output --partial "loaded-sha256=${SUITE_CANARY_SHA256}"
  sh_step plain "${post}"
  run job_dirs_anywhere
  assert_output ""
  # `sh -xe` traced the sourced env file: Jenkins would mask the key; we check that the trace
  # shows only the file reference and never the value
  assert_logs_clean "${log}"
}

@test "post cleanup also removes a one-step setup whose shell was killed" {
  local one post
  one="$(step_file one 'set +x
eval "$(anaconda-ci-auth setup --print-env sh --validate offline)"
trap "anaconda-ci-auth cleanup" EXIT
kill -9 $$')"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  run sh_step credentials "${one}"
  assert_failure
  run find "${TMPDIR}" -mindepth 1 -maxdepth 1 -name 'anaconda-ci-auth-*'
  assert [ -n "${output}" ]
  sh_step plain "${post}"
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "post cleanup is safe when setup never ran" {
  local post
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  run sh_step plain "${post}"
  assert_success
  run cat "${log}"
  assert_output --partial "nothing to clean up"
}

@test "post cleanup that cannot clean ends the step with cleanup's exit code, not 1" {
  local post dir="${BATS_TEST_TMPDIR}/not-a-job-dir"
  mkdir -p "${dir}"
  : >"${dir}/somebody-elses-file"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  run sh_step plain "${post}" "ANACONDA_CI_AUTH_DIR=${dir}"
  # a directory without a state file: cleanup refuses to touch it (filesystem error, exit code 8)
  assert_failure 8
  assert [ -f "${dir}/somebody-elses-file" ]
  run cat "${log}"
  assert_output --partial "cleanup failed with exit code 8"
}

@test "the setup step outside withCredentials fails with a clear error" {
  local setup
  setup="$(step_file setup 'jenkins/anaconda-ci-auth-setup.sh')"
  run sh_step plain "${setup}"
  assert_failure 3
  run cat "${log}"
  assert_output --partial "ANACONDA_AUTH_API_KEY is not set: run this step inside withCredentials"
}

@test "a later step without setup fails with a clear error" {
  local use
  use="$(step_file use '. jenkins/anaconda-ci-auth-env.sh
echo should-not-run')"
  run sh_step plain "${use}"
  assert_failure
  run cat "${log}"
  assert_output --partial "no environment for this build"
  refute_output --partial "should-not-run"$'\n'
}

@test "a key the API rejects (401) fails the setup step with exit code 6 and leaves nothing" {
  printf '%s' "${SUITE_OTHER_KEY}" >"${key_file}"
  local setup
  setup="$(step_file setup 'set +x
jenkins/anaconda-ci-auth-setup.sh')"
  run sh_step credentials "${setup}"
  assert_failure 6
  grep -q ' 401$' "${FAKE_API_LOG}"
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "the Jenkinsfile's one-step stage stops when setup fails, before conda runs" {
  run "${venv}/bin/python" "${jenkins_fixtures}/sh-steps.py" "${jenkins_src}/Jenkinsfile" "${steps}"
  assert_success
  local line n creds stage one_step=""
  for line in "${lines[@]}"; do
    read -r n creds stage <<<"${line}"
    [[ "${stage}" == "One step" ]] && one_step="${steps}/${n}.sh"
  done
  assert [ -n "${one_step}" ]
  # A key the fake API rejects: setup exits 6 inside the command substitution.
  printf '%s' "${SUITE_OTHER_KEY}" >"${key_file}"
  run sh_step credentials "${one_step}"
  assert_failure 6
  run cat "${log}"
  refute_output --partial "fake-conda"
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "exec scrubs the key from the command's output" {
  local step
  step="$(step_file exec 'set +x
anaconda-ci-auth exec --api-url "${ANACONDA_CI_AUTH_API_URL}" -- conda install --yes pandas')"
  run sh_step credentials "${step}" FAKE_CONDA_PRINT_KEY=1
  assert_success
  run cat "${log}"
  assert_output --partial "debug: Authorization: ****"
  assert_logs_clean "${log}"
  run job_dirs_anywhere
  assert_output ""
}

@test "every sh block of the Jenkinsfile is single-quoted and the credential is never in a Groovy string" {
  # a double-quoted sh string would let Groovy interpolate ${...} into the script text
  run grep -nE "sh[[:space:]]*\(?[[:space:]]*\"" "${jenkins_src}/Jenkinsfile"
  assert_failure
  run grep -n 'ANACONDA_AUTH_API_KEY' "${jenkins_src}/Jenkinsfile"
  assert_success
  local line
  for line in "${lines[@]}"; do
    [[ "${line}" == *"variable: 'ANACONDA_AUTH_API_KEY'"* ]]
  done
  run grep -c "withCredentials(\[string(credentialsId: 'anaconda-api-key', variable: 'ANACONDA_AUTH_API_KEY')\])" "${jenkins_src}/Jenkinsfile"
  assert_output 3
}

@test "npm-groovy-lint passes on the Jenkinsfile and fails on a broken copy" {
  # the real file, with the .groovylintrc.json next to it
  cd "${jenkins_src}"
  run timeout 300 "${node_modules}/.bin/npm-groovy-lint" --noserver --failon error Jenkinsfile
  assert_success
  assert_output --regexp "'Error' +. 0 "
  # a copy that lost its closing braces must fail, or the check above proves nothing
  mkdir -p "${BATS_TEST_TMPDIR}/broken"
  cp "${jenkins_src}/.groovylintrc.json" "${BATS_TEST_TMPDIR}/broken/"
  head -n -2 "${jenkins_src}/Jenkinsfile" >"${BATS_TEST_TMPDIR}/broken/Jenkinsfile"
  cd "${BATS_TEST_TMPDIR}/broken"
  run timeout 300 "${node_modules}/.bin/npm-groovy-lint" --noserver --failon error Jenkinsfile
  assert_failure
}

@test "shellcheck passes on the step scripts and on the Jenkinsfile's sh blocks" {
  run shellcheck -x "${jenkins_src}"/*.sh "${jenkins_fixtures}/bin/conda"
  assert_success
  "${venv}/bin/python" "${jenkins_fixtures}/sh-steps.py" "${jenkins_src}/Jenkinsfile" "${steps}" >/dev/null
  # Jenkins runs sh steps with /bin/sh: check them as POSIX sh
  run shellcheck -s sh -e SC1091 "${steps}"/*.sh
  assert_success
}

@test "post cleanup sweeps another build's directory only when it is older than a day" {
  local setup post
  setup="$(step_file setup 'jenkins/anaconda-ci-auth-setup.sh --validate offline >/dev/null')"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  sh_step credentials "${setup}" "BUILD_TAG=jenkins-team-anaconda job-40"
  sh_step credentials "${setup}" "BUILD_TAG=jenkins-team-anaconda job-41"
  local old="${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-40"
  local recent="${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-41"
  python3 - "${old}/state.json" <<'PY'
import json, sys, time
p = sys.argv[1]
st = json.load(open(p))
st["created_at"] = int(time.time()) - 3 * 86400
json.dump(st, open(p, "w"))
PY
  sh_step plain "${post}"
  assert [ ! -e "${old}" ]
  assert [ -f "${recent}/keyring" ]
  sh_step plain "${post}" "BUILD_TAG=jenkins-team-anaconda job-41"
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "setup with --clients conda,pixi --accept-tos: a later step gets pixi's 0600 auth file and the ToS acceptance" {
  local setup use post dir
  setup="$(step_file setup 'set +x
jenkins/anaconda-ci-auth-setup.sh --validate offline --clients conda,pixi --accept-tos >/dev/null')"
  use="$(step_file use ". jenkins/anaconda-ci-auth-env.sh
sh '${fixtures_dir}/check-clients.sh' conda pixi no-uv tos")"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  sh_step credentials "${setup}"
  dir="${workspace}@tmp/anaconda-ci-auth-jenkins-team-anaconda_job-42"
  assert [ -f "${dir}/rattler-auth.json" ]
  sh_step plain "${use}"
  run cat "${log}"
  assert_output --partial "check-clients: ok conda pixi no-uv tos"
  sh_step plain "${post}"
  assert [ ! -e "${dir}" ]
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "setup without client arguments: the build's ANACONDA_CI_AUTH_CLIENTS and ANACONDA_CI_AUTH_ACCEPT_TOS apply" {
  local setup use post
  setup="$(step_file setup 'set +x
jenkins/anaconda-ci-auth-setup.sh --validate offline >/dev/null')"
  use="$(step_file use ". jenkins/anaconda-ci-auth-env.sh
sh '${fixtures_dir}/check-clients.sh' conda uv no-pixi tos")"
  post="$(step_file post 'jenkins/anaconda-ci-auth-cleanup.sh')"
  sh_step credentials "${setup}" ANACONDA_CI_AUTH_CLIENTS=conda,uv ANACONDA_CI_AUTH_ACCEPT_TOS=true
  sh_step plain "${use}"
  run cat "${log}"
  assert_output --partial "check-clients: ok conda uv no-pixi tos"
  sh_step plain "${post}"
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}"
}

@test "the README's first example: a whole pipeline, each sh step as Jenkins runs it, leaves nothing behind" {
  local version target asset mirror="${BATS_TEST_TMPDIR}/mirror" files="${BATS_TEST_TMPDIR}/files"
  local pipeline="${BATS_TEST_TMPDIR}/readme.Jenkinsfile" server port line n creds stage rc i
  local -a results=() extra
  version="$("${bin}" --version | awk '{print $2}')"
  case "$(uname -m)" in
    aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
    *) target=x86_64-unknown-linux-musl ;;
  esac
  asset="anaconda-ci-auth-${version}-${target}"
  # The repository at the release tag, as the example clones it (installer and checksums), and the
  # release asset (the binary under test) on a loopback mirror.
  mkdir -p "${mirror}/scripts" "${mirror}/checksums" "${files}/v${version}"
  cp "${root}/scripts/install-binary.sh" "${mirror}/scripts/"
  cp "${root}/Cargo.toml" "${mirror}/"
  printf '%s  %s\n' "$(sha256sum "${bin}" | cut -d' ' -f1)" "${asset}" >"${mirror}/checksums/v${version}.txt"
  git -C "${mirror}" init -q -b main
  git -C "${mirror}" add -A
  git -C "${mirror}" -c user.name=ci -c user.email=ci@example.org commit -q -m release
  git -C "${mirror}" tag "v${version}"
  cp "${bin}" "${files}/v${version}/${asset}"
  # The first groovy block of the README, for the version under test.
  awk '/^```groovy$/ { n++; next } n == 1 && /^```$/ { exit } n == 1' "${jenkins_src}/README.md" |
    sed "s/0\.1\.0/${version}/g" >"${pipeline}"
  grep -q "^pipeline {" "${pipeline}"
  grep -q "install-binary.sh\" download" "${pipeline}"
  run "${venv}/bin/python" "${jenkins_fixtures}/sh-steps.py" "${pipeline}" "${steps}"
  assert_success
  "${venv}/bin/python" "${fixtures}/static-server.py" "${BATS_TEST_TMPDIR}/files.port" "${files}" 3>&- &
  server=$!
  for i in $(seq 1 100); do
    [[ -s "${BATS_TEST_TMPDIR}/files.port" ]] && break
    sleep 0.05
  done
  port="$(cat "${BATS_TEST_TMPDIR}/files.port")"
  # Only what reaches the network differs: git clones the mirror, the installer downloads from it.
  extra=("PATH=${fixtures_dir}/readme-conda:/usr/local/bin:/usr/bin:/bin"
    GIT_CONFIG_COUNT=1 "GIT_CONFIG_KEY_0=url.file://${mirror}.insteadOf"
    "GIT_CONFIG_VALUE_0=https://github.com/anaconda-ci-auth/anaconda-ci-auth.git"
    "ANACONDA_CI_AUTH_DOWNLOAD_BASE=http://127.0.0.1:${port}" "FAKE_CONDA_LOG=${BATS_TEST_TMPDIR}/conda.log")
  for line in "${lines[@]}"; do
    read -r n creds stage <<<"${line}"
    rc=0
    sh_step "${creds}" "${steps}/${n}.sh" "${extra[@]}" || rc=$?
    results+=("${stage}:${creds}:${rc}")
  done
  kill "${server}"
  assert_equal "${results[*]}" "Install:credentials:0 post:plain:0"
  run cat "${log}"
  assert_output --partial "verified ${asset}"
  assert_output --partial "fake-conda: https://repo.anaconda.cloud/repo/main routed to anaconda-auth; key sha256=${SUITE_CANARY_SHA256}"
  # exec --register installed anaconda-registration with the key first (its output is shown only on failure)
  run cat "${BATS_TEST_TMPDIR}/conda.log"
  assert_line "fake-conda: https://repo.anaconda.cloud/repo/anaconda-tools routed to anaconda-auth; key sha256=${SUITE_CANARY_SHA256}"
  # online validation went to the fake API
  assert [ "$(grep -c ' 200$' "${FAKE_API_LOG}")" -ge 1 ]
  assert [ ! -e "${workspace}@tmp/aca" ]
  run job_dirs_anywhere
  assert_output ""
  assert_logs_clean "${log}" "${BATS_TEST_TMPDIR}/conda.log"
}
