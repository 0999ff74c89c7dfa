#!/usr/bin/env bash
# GitLab CI integration: runs gitlab/templates/anaconda-ci-auth.yml in the real runner
# gitlab-ci-local (shell executor, offline) as a component, a local include with inputs and a
# project include, one throw-away git repository per scenario (tests/gitlab/scenarios/). The real
# anaconda-auth library checks the key inside the jobs (tests/gitlab/key_probe.py); the shared fake
# API on 127.0.0.1 (tests/fixtures/fake_api.py) answers online validation and serves the release
# mirror. Most scenarios are rows of one table (scenario_table); the shared runner (tests/lib.sh)
# checks every run's output and the runner's .gitlab-ci-local/ files for the key. Also lints the
# template and examples.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

suite="gitlab"
glcl="${node_modules}/.bin/gitlab-ci-local"
template="${root}/gitlab/templates/anaconda-ci-auth.yml"
scenarios="${root}/tests/gitlab/scenarios"
remote_url="git@gitlab.example.com:acme/anaconda-ci-auth.git"
work=""
api_port=""
canary_sha256=""
version=""
rc=0
last_log=""

# ---- helpers ---------------------------------------------------------------------------------

finish() {
  stop_fake_api
  runner_stop_tracked
  if [[ -n "${work}" && -z "${GITLAB_SUITE_KEEP:-}" ]]; then
    rm -rf "${work}"
  elif [[ -n "${work}" ]]; then
    echo "kept ${work}"
  fi
}

# write_vars FILE NAME=KIND...: a gitlab-ci-local variables file. KIND is `key` (the canary key),
# `expired` (the expired key) or `file` (a File-type variable: the path of a file with the key).
write_vars() {
  local file="$1" pair name kind
  shift
  {
    printf 'EXPECTED_SHA: "%s"\n' "${canary_sha256}"
    for pair in "$@"; do
      name="${pair%%=*}"
      kind="${pair#*=}"
      case "${kind}" in
        key) printf '%s: "%s"\n' "${name}" "${canary_key}" ;;
        expired) printf '%s: "%s"\n' "${name}" "${expired_key}" ;;
        file) printf '%s: "%s"\n' "${name}" "${work}/secrets/api-key" ;;
      esac
    done
  } >"${file}"
}

# new_project NAME SCENARIO [API_PATH] [MIRROR] [REMOTE]: a git repo with the template at the
# component path and at the repository path, and the scenario as .gitlab-ci.yml. Prints the
# project directory.
new_project() {
  local name="$1" scenario="$2" api_path="${3:-ok}" mirror="${4:-}" remote="${5:-${remote_url}}"
  local dir="${work}/${name}"
  mkdir -p "${dir}/templates" "${dir}/gitlab/templates" "${work}/tmp-${name}"
  cp "${template}" "${dir}/templates/anaconda-ci-auth.yml"
  cp "${template}" "${dir}/gitlab/templates/anaconda-ci-auth.yml"
  cp "${root}/tests/gitlab/key_probe.py" "${dir}/key_probe.py"
  cp "${fixtures_dir}/check-clients.sh" "${dir}/check-clients.sh"
  sed -e "s/@VERSION@/${version}/g" -e "s/@API_PORT@/${api_port}/g" -e "s/@API_PATH@/${api_path}/g" -e "s|@MIRROR@|${mirror}|g" \
    "${scenarios}/${scenario}.gitlab-ci.yml" >"${dir}/.gitlab-ci.yml"
  printf '.gitlab-ci-local/\n' >"${dir}/.gitignore"
  git_init "${dir}" "${remote}"
  echo "${dir}"
}

# git_init DIR REMOTE: commit everything in DIR on main, with an `origin` remote.
git_init() {
  local dir="$1" remote="$2"
  git -C "${dir}" init -q -b main
  git -C "${dir}" config user.name "ci test"
  git -C "${dir}" config user.email "ci-test@example.org"
  git -C "${dir}" remote add origin "${remote}"
  git -C "${dir}" symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
  git -C "${dir}" add -A
  git -C "${dir}" commit -q -m "scenario"
}

# glcl DIR NAME VARS [ARGS...]: runs gitlab-ci-local in DIR with a clean environment (the binary
# on PATH unless glcl_bin_path is set, e.g. to an empty string; glcl_env adds one NAME=VALUE, for
# a value gitlab-ci-local would turn into a File-type variable, such as a path) and the
# variables file VARS (in ${work}, outside the repository, so the runner does not copy it);
# output in ${work}/NAME.log (also last_log), exit code in rc. The log and every file the runner
# writes under DIR/.gitlab-ci-local (job logs, scripts, expanded config) go to the leak scan.
glcl() {
  local dir="$1" name="$2" vars="$3"
  shift 3
  last_log="${work}/${name}.log"
  leak_scan "${last_log}" "${dir}/.gitlab-ci-local"
  rc=0
  (cd "${dir}" && env -i ${glcl_env:+"${glcl_env}"} HOME="${work}/home" TMPDIR="${work}/tmp-$(basename "${dir}")" \
    PATH="${glcl_bin_path-${work}/bin:}${venv}/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 \
    timeout 180 "${glcl}" --no-color --home "${work}/home" --variables-file "../$(basename "${vars}")" "$@") \
    >"${last_log}" 2>&1 || rc=$?
}

# expect_rc N: gitlab-ci-local exited N; if not, shows the end of its log (the runner hides the
# test's output if it holds a key).
expect_rc() {
  [[ "${rc}" == "$1" ]] && return 0
  sed 's/^/    | /' "${last_log}" | tail -40
  fail "gitlab-ci-local exited ${rc}, expected $1"
}

expect_log() {
  expect_in "${last_log}" "$1"
}

expect_not_log() {
  expect_not_in "${last_log}" "$1"
}

# job_dir: the job directory a job printed as `job-dir=...` (the first one).
job_dir() {
  sed -n 's/.*> job-dir=\([^ ]*\).*/\1/p' "${last_log}" | head -1
}

# no_job_dirs DIR: no anaconda-ci-auth job or binary directory is left in DIR.
no_job_dirs() {
  local left
  left="$(find "$1" -maxdepth 1 -name 'anaconda-ci-auth*' 2>/dev/null || true)"
  [[ -z "${left}" ]] || fail "left behind in $1: ${left}"
}

# release_target: the release asset target of this machine (as scripts/install-binary.sh names it).
release_target() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x86_64-unknown-linux-musl ;;
    aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
    *) return 1 ;;
  esac
}

# make_mirror NAME SHA256: a git repository shaped like this one after a release, as
# .github/workflows/release.yml describes it: tag v${version} on the commit with the installer and
# Cargo.toml but no checksums yet, then a commit adding checksums/v${version}.txt (SHA256 for this
# machine's asset) with the major tag v<MAJOR> moved to it. The release asset itself (the binary
# under test) is served by the fake API under /files/.
make_mirror() {
  local dir="${work}/$1" sha="$2"
  mkdir -p "${dir}/scripts" "${dir}/checksums"
  cp "${root}/scripts/install-binary.sh" "${dir}/scripts/install-binary.sh"
  cp "${root}/Cargo.toml" "${dir}/Cargo.toml"
  git_init "${dir}" "https://example.org/anaconda-ci-auth.git"
  git -C "${dir}" tag "v${version}"
  printf '%s  anaconda-ci-auth-%s-%s\n' "${sha}" "${version}" "$(release_target)" >"${dir}/checksums/v${version}.txt"
  git -C "${dir}" add checksums
  git -C "${dir}" commit -q -m "checksums for v${version}"
  git -C "${dir}" tag "v${version%%.*}"
}

# ---- the scenario table ------------------------------------------------------------------------

# scenario TITLE NAME [FIELD=VALUE]...: one row of the table, run as one test (run_scenario): a
# project with tests/gitlab/scenarios/FILE.gitlab-ci.yml, one gitlab-ci-local run, then the checks.
#   file=FILE           the scenario file (default: NAME)
#   api=PATH            @API_PATH@ in the scenario (default: ok)
#   vars="NAME=KIND..." the variables file (see write_vars; default: ANACONDA_AUTH_API_KEY=key)
#   args="ARGS"         extra gitlab-ci-local arguments
#   rc=N                gitlab-ci-local's exit code (default: 0)
#   expect=TEXT, expect_re=REGEX, expect_not=TEXT, count=N:TEXT
#                       checks of the log (expect_lines in tests/lib.sh; repeatable; @TMP@ in a
#                       check is the job's TMPDIR)
#   api_log="PATH N"    the fake API got PATH with the canary key and answered N
#   job_dir=removed     the job printed its job directory, after_script removed it
#   job_dirs=none       no job or binary directory is left in the job's TMPDIR
scenario() {
  local field
  row_title="$1"
  row_name="$2"
  shift 2
  row_file="${row_name}" row_api=ok row_vars="ANACONDA_AUTH_API_KEY=key" row_args="" row_rc=0
  row_job_dir="" row_job_dirs=""
  row_checks=() row_api_log=()
  for field in "$@"; do
    case "${field}" in
      file=*) row_file="${field#*=}" ;;
      api=*) row_api="${field#*=}" ;;
      vars=*) row_vars="${field#*=}" ;;
      args=*) row_args="${field#*=}" ;;
      rc=*) row_rc="${field#*=}" ;;
      expect=* | expect_re=* | expect_not=* | count=*) row_checks+=("${field}") ;;
      api_log=*) row_api_log+=("${field#*=}") ;;
      job_dir=*) row_job_dir="${field#*=}" ;;
      job_dirs=*) row_job_dirs="${field#*=}" ;;
      *)
        echo "scenario ${row_name}: unknown field ${field}" >&2
        return 1
        ;;
    esac
  done
  run_test "${row_title}" run_scenario
}

run_scenario() {
  local dir vars="${work}/vars-${row_name}.yml" tmp="${work}/tmp-${row_name}" line jd
  local -a var_pairs glcl_args
  read -r -a var_pairs <<<"${row_vars}"
  read -r -a glcl_args <<<"${row_args}"
  dir="$(new_project "${row_name}" "${row_file}" "${row_api}")"
  write_vars "${vars}" "${var_pairs[@]}"
  glcl "${dir}" "${row_name}" "${vars}" "${glcl_args[@]}"
  expect_rc "${row_rc}"
  expect_lines "${last_log}" "${row_checks[@]//@TMP@/${tmp}}"
  for line in "${row_api_log[@]}"; do
    grep -qx -- "${line% *} ${canary_sha256} ${line##* }" "${work}/api.log" ||
      fail "the fake API did not get the key at ${line% *} (answering ${line##* })"
  done
  if [[ "${row_job_dir}" == removed ]]; then
    jd="$(job_dir)"
    [[ -n "${jd}" ]] || fail "the job printed no job directory"
    expect_log "anaconda-ci-auth: removed ${jd}"
    [[ ! -e "${jd}" ]] || fail "${jd} still exists"
  fi
  if [[ "${row_job_dirs}" == none ]]; then
    no_job_dirs "${tmp}"
  fi
}

# Every scenario with the shape: one project, one run, checks of the log, the API and the job's TMPDIR.
scenario_table() {
  local script_ran="the job script ran"
  scenario "component include, keyring mode: anaconda-auth reads the key from the job keyring; channels reach the condarc" keyring \
    expect="probe: ok mode=keyring" expect='>   - channel: "https://conda.example.org/*"' \
    expect='>     auth_domain: "example.org"' job_dir=removed job_dirs=none
  scenario "clients and accept-tos inputs: pixi's 0600 auth file and ToS acceptance reach the job" clients \
    expect="check-clients: ok conda pixi no-uv tos" expect="probe: ok mode=keyring" job_dir=removed job_dirs=none
  scenario "empty inputs leave the job's ANACONDA_CI_AUTH_CLIENTS, _ACCEPT_TOS and _VALIDATE in charge" clients-variables \
    expect="check-clients: ok conda uv no-pixi tos" expect="probe: ok mode=keyring" job_dir=removed job_dirs=none
  scenario "File-type variable as the key source (local include with inputs)" file-variable \
    vars="ANACONDA_KEY_FILE=file" expect_re='> *"key_source": "file .*ANACONDA_KEY_FILE' \
    expect="probe: ok mode=keyring" job_dirs=none
  scenario "File-type variable named ANACONDA_AUTH_API_KEY, keyring mode: the library uses the keyring" file-default-name \
    vars="ANACONDA_AUTH_API_KEY=file" expect_re='> *"key_source": "file .*ANACONDA_AUTH_API_KEY' \
    expect="probe: ok mode=keyring" job_dirs=none
  scenario "File-type variable named ANACONDA_AUTH_API_KEY, env mode: the key replaces the path" file-env-mode \
    vars="ANACONDA_AUTH_API_KEY=file" expect="probe: ok mode=env" job_dirs=none
  scenario "env mode exports ANACONDA_AUTH_API_KEY for the job's script" env-mode \
    vars="CI_ANACONDA_KEY=key" expect="probe: ok mode=env" job_dirs=none
  scenario "an expired key fails the job before its script" expired \
    vars="EXPIRED_KEY=expired" rc=1 expect="expired" expect="setup failed with exit code 5" \
    expect_not="${script_ran}" job_dirs=none
  scenario "a key that expires within min-validity fails the job" min-validity \
    rc=1 expect="sooner than --min-validity allows" expect="setup failed with exit code 5" \
    expect_not="${script_ran}" job_dirs=none
  scenario "a key the API rejects (401) fails the job" rejected file=online api=reject \
    rc=1 expect="rejected" expect="setup failed with exit code 6" expect_not="${script_ran}" \
    api_log="/reject/api/account 401" job_dirs=none
  scenario "online validation against the API answering 200" online \
    expect="ci-bot" expect="probe: ok mode=keyring" api_log="/ok/api/account 200" job_dirs=none
  scenario "a missing required input fails pipeline creation" missing-input \
    rc=1 expect="\`version\` input: required value has not been provided" expect_not="${script_ran}"
  scenario "a variable reference as api-key-variable fails pipeline creation" key-as-input \
    rc=1 expect="\`api-key-variable\` input: \`\$ANACONDA_AUTH_API_KEY\` does not match required regex" \
    expect_not="${script_ran}"
  scenario "a value outside an input's options fails pipeline creation" bad-option \
    rc=1 expect="\`mode\` input: \`envv\` cannot be used because it is not in the list of allowed options" \
    expect_not="${script_ran}"
  scenario "after_script removes the job directory after a failed script" failing-job \
    rc=1 job_dir=removed job_dirs=none
  scenario "a job with image: (forced shell executor)" image \
    args="--force-shell-executor" expect="probe: ok mode=keyring" job_dirs=none
  scenario "CI_DEBUG_TRACE with env mode is refused" debug-trace \
    rc=1 expect="CI_DEBUG_TRACE" expect="setup failed with exit code 2" expect_not="${script_ran}" job_dirs=none
  scenario "a traced job shell (set -x) does not print the key" xtrace \
    vars="CI_ANACONDA_KEY=key" expect="+ test -n @TMP@/anaconda-ci-auth-" expect="probe: ok mode=env"
}

# ---- scenarios of their own shape ---------------------------------------------------------------

test_stale_sweep() {
  local dir vars="${work}/vars-stale.yml" first second
  dir="$(new_project stale stale)"
  mkdir "${dir}.tmp"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl "${dir}" stale-first "${vars}" timed-out
  expect_rc 0 || return 1
  first="$(job_dir)"
  [[ "${first}" == "${dir}.tmp/anaconda-ci-auth-"* ]] || fail "job dir ${first} is not in ${dir}.tmp" || return 1
  [[ -f "${first}/keyring" ]] || fail "the timed-out job's directory is not there" || return 1
  glcl "${dir}" stale-next "${vars}" next
  expect_rc 0 || return 1
  second="$(job_dir)"
  [[ -n "${second}" && "${second}" != "${first}" ]] || fail "the next job used ${second}" || return 1
  expect_log "removed stale job directory ${first}" || return 1
  [[ ! -e "${first}" ]] || fail "${first} still exists" || return 1
  no_job_dirs "${dir}.tmp" || return 1
}

test_image_job() {
  local dir vars="${work}/vars-image.yml"
  dir="$(new_project image image)"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl "${dir}" image "${vars}" --force-shell-executor
  expect_rc 0 || return 1
  expect_log "probe: ok mode=keyring" || return 1
  no_job_dirs "${work}/tmp-image" || return 1
}

test_debug_trace_env_refused() {
  local dir vars="${work}/vars-debug.yml"
  dir="$(new_project debug-trace debug-trace)"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl "${dir}" debug-trace "${vars}"
  expect_rc 1 || return 1
  expect_log "CI_DEBUG_TRACE" || return 1
  expect_log "setup failed with exit code 2" || return 1
  expect_not_log "the job script ran" || return 1
  no_job_dirs "${work}/tmp-debug-trace" || return 1
}

test_xtrace_quiet() {
  local dir vars="${work}/vars-xtrace.yml"
  dir="$(new_project xtrace xtrace)"
  write_vars "${vars}" CI_ANACONDA_KEY=key
  glcl "${dir}" xtrace "${vars}"
  expect_rc 0 || return 1
  expect_log "+ test -n ${work}/tmp-xtrace/anaconda-ci-auth-" || return 1
  expect_log "probe: ok mode=env" || return 1
}

# wait_port FILE: waits for a server to write its port to FILE, and prints it.
wait_port() {
  local i
  for i in $(seq 1 100); do
    if [[ -s "$1" ]]; then
      cat "$1"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

test_project_include() {
  local dir vars="${work}/vars-project.yml" src="${work}/component-src" port
  mkdir -p "${src}/gitlab/templates" "${work}/git-root/acme"
  cp "${template}" "${src}/gitlab/templates/anaconda-ci-auth.yml"
  git_init "${src}" "https://example.org/acme/anaconda-ci-auth.git"
  git -C "${src}" tag "v${version}"
  git clone -q --bare "${src}" "${work}/git-root/acme/anaconda-ci-auth.git"
  python3 "${root}/tests/gitlab/git_http.py" "${work}/git-root" "${work}/git.port" &
  track_pid "$!"
  port="$(wait_port "${work}/git.port")" || fail "the git server did not start" || return 1
  dir="$(new_project project project ok "" "http://127.0.0.1:${port}/acme/app.git")"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl "${dir}" project "${vars}"
  expect_rc 0 || return 1
  expect_log "downloaded acme/anaconda-ci-auth v${version} gitlab/templates/anaconda-ci-auth.yml" || return 1
  expect_log "probe: ok mode=keyring" || return 1
  no_job_dirs "${work}/tmp-project" || return 1
}

test_download() {
  local dir vars="${work}/vars-download.yml" left
  make_mirror mirror "$(sha256sum "${bin}" | cut -d' ' -f1)"
  dir="$(new_project download download ok "${work}/mirror")"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl_bin_path="" glcl "${dir}" download "${vars}"
  expect_rc 0 || return 1
  expect_log "fetching the installer and checksums at v${version%%.*} from" || return 1
  expect_log "binary=${work}/tmp-download/anaconda-ci-auth.bin-" || return 1
  expect_log "verified anaconda-ci-auth-${version}-$(release_target)" || return 1
  grep -q "^/files/v${version}/anaconda-ci-auth-${version}-" "${work}/api.log" ||
    fail "the binary was not downloaded from the mirror" || return 1
  expect_log "probe: ok mode=keyring" || return 1
  left="$(find "${work}/tmp-download" -mindepth 1 -maxdepth 1)"
  [[ -z "${left}" ]] || fail "left behind: ${left}" || return 1
}

test_installer_input() {
  local dir vars="${work}/vars-installer.yml" left
  make_mirror vendored "$(sha256sum "${bin}" | cut -d' ' -f1)"
  dir="$(new_project installer-path installer-path)"
  mkdir -p "${dir}/vendor"
  cp -r "${work}/vendored" "${dir}/vendor/anaconda-ci-auth"
  rm -rf "${dir}/vendor/anaconda-ci-auth/.git"
  git -C "${dir}" add -A
  git -C "${dir}" commit -q -m "vendor anaconda-ci-auth"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl_bin_path="" glcl "${dir}" installer-path "${vars}"
  expect_rc 0 || return 1
  expect_not_log "fetching the installer" || return 1
  expect_log "binary=${work}/tmp-installer-path/anaconda-ci-auth.bin-" || return 1
  expect_log "verified anaconda-ci-auth-${version}-$(release_target)" || return 1
  expect_log "probe: ok mode=keyring" || return 1
  left="$(find "${work}/tmp-installer-path" -mindepth 1 -maxdepth 1)"
  [[ -z "${left}" ]] || fail "left behind: ${left}" || return 1
}

test_download_checksum_mismatch() {
  local dir vars="${work}/vars-mismatch.yml" left
  make_mirror bad-mirror "$(printf '%064d' 0)"
  dir="$(new_project mismatch download ok "${work}/bad-mirror")"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  glcl_bin_path="" glcl "${dir}" mismatch "${vars}"
  expect_rc 1 || return 1
  expect_log "checksum mismatch" || return 1
  expect_log "the installer failed" || return 1
  expect_not_log "the job script ran" || return 1
  left="$(find "${work}/tmp-mismatch" -mindepth 1 -maxdepth 1)"
  [[ -z "${left}" ]] || fail "left behind: ${left}" || return 1
}

# The README's first example, a whole .gitlab-ci.yml, run as written except for where the
# component comes from (this project instead of acme/anaconda-ci-auth at a tag) and the version
# under test. Its defaults run for real: install-method download (the installer cloned at the major
# tag of a loopback mirror, through a git url rewrite, and the binary from the fake API's release
# files), online validation against the fake API, and `register`. The image's shell is forced;
# apt-get and conda are test doubles on PATH (tests/fixtures/readme-conda checks what the real
# anaconda-auth would send for the example's channels).
test_readme_first_example() {
  local dir="${work}/readme" vars="${work}/vars-readme.yml" tools="${work}/readme-tools" left
  make_mirror readme-mirror "$(sha256sum "${bin}" | cut -d' ' -f1)"
  mkdir -p "${dir}/templates" "${work}/tmp-readme" "${tools}"
  cp "${template}" "${dir}/templates/anaconda-ci-auth.yml"
  python3 - "${root}/gitlab/README.md" "${version}" >"${dir}/.gitlab-ci.yml" <<'PY' || return 1
import re, sys
block = re.findall(r"```yaml\n(.*?)```", open(sys.argv[1]).read(), re.S)[0]
component = "$CI_SERVER_FQDN/acme/anaconda-ci-auth/anaconda-ci-auth@v0.1.0"
assert component in block and 'version: "0.1.0"' in block, "the first example changed shape: update this test"
assert "conda install" in block and "https://repo.anaconda.cloud/" in block, "the first example installs nothing"
block = block.replace(component, "$CI_SERVER_FQDN/$CI_PROJECT_PATH/anaconda-ci-auth@$CI_COMMIT_SHA")
print(block.replace('version: "0.1.0"', f'version: "{sys.argv[2]}"'), end="")
PY
  printf '.gitlab-ci-local/\n' >"${dir}/.gitignore"
  git_init "${dir}" "${remote_url}"
  ln -s "${root}/tests/fixtures/readme-conda/conda" "${tools}/conda"
  printf '#!/bin/sh\necho "fake apt-get $*"\n' >"${tools}/apt-get"
  chmod +x "${tools}/apt-get"
  write_vars "${vars}" ANACONDA_AUTH_API_KEY=key
  cat >>"${vars}" <<VARS
ANACONDA_CI_AUTH_API_URL: "http://127.0.0.1:${api_port}/ok"
ANACONDA_CI_AUTH_DOWNLOAD_BASE: "http://127.0.0.1:${api_port}/files"
GIT_CONFIG_COUNT: "1"
GIT_CONFIG_KEY_0: "url.file://${work}/readme-mirror.insteadOf"
GIT_CONFIG_VALUE_0: "https://github.com/anaconda-ci-auth/anaconda-ci-auth.git"
VARS
  glcl_env="FAKE_CONDA_LOG=${work}/readme-conda.log" glcl_bin_path="${tools}:" glcl "${dir}" readme "${vars}" --force-shell-executor
  expect_rc 0 || return 1
  expect_log "fake apt-get install --yes --no-install-recommends git curl" || return 1
  expect_log "verified anaconda-ci-auth-${version}-$(release_target)" || return 1
  grep -qx -- "/ok/api/account ${canary_sha256} 200" "${work}/api.log" ||
    fail "online validation did not reach the fake API with the key" || return 1
  # register's conda (its output is shown only on failure), then the script's.
  expect_in "${work}/readme-conda.log" "fake-conda: https://repo.anaconda.cloud/repo/anaconda-tools routed to anaconda-auth; key sha256=${canary_sha256}" || return 1
  expect_log "fake-conda: https://repo.anaconda.cloud/repo/main routed to anaconda-auth; key sha256=${canary_sha256}" || return 1
  expect_log "anaconda-ci-auth: removed ${work}/tmp-readme/anaconda-ci-auth-" || return 1
  left="$(find "${work}/tmp-readme" -mindepth 1 -maxdepth 1)"
  [[ -z "${left}" ]] || fail "left behind: ${left}" || return 1
}

# posix_run SHELL...: the template's before_script, a probe and its after_script (a new shell),
# as GitLab runs them for an image whose shell is SHELL (e.g. dash, busybox sh), with `set -e`.
posix_run() {
  local out="${work}/posix" project="${work}/posix/project"
  mkdir -p "${project}" "${work}/posix/tmp"
  cp "${root}/tests/gitlab/key_probe.py" "${project}/"
  python3 - "${template}" "${out}" <<'PY' || return 1
import sys, yaml
body = next(iter(list(yaml.safe_load_all(open(sys.argv[1])))[1].values()))
open(f"{sys.argv[2]}/before.sh", "w").write("set -e\n" + "\n".join(body["before_script"]))
open(f"{sys.argv[2]}/after.sh", "w").write("set -e\n" + "\n".join(body["after_script"]))
for name, value in body["variables"].items():
    print(f"{name}={value}", file=open(f"{sys.argv[2]}/inputs.env", "a"))
PY
  local -a envs=(HOME="${work}/home" PATH="${work}/bin:${venv}/bin:/usr/bin:/bin" TMPDIR="${work}/posix/tmp"
    CI_PROJECT_DIR="${project}" CI_JOB_ID=4711 ANACONDA_AUTH_API_KEY="${canary_key}")
  mapfile -t -O "${#envs[@]}" envs < <(sed -e 's/\$\[\[ inputs.version \]\]/'"${version}"'/' \
    -e 's/\$\[\[ inputs.install-method \]\]/path/' -e 's/\$\[\[ inputs.validate \]\]/offline/' \
    -e 's/\$\[\[ inputs.mode \]\]/keyring/' -e 's/\$\[\[ inputs.api-key-variable \]\]/ANACONDA_AUTH_API_KEY/' \
    -e 's/\$\[\[ inputs.domain \]\]/anaconda.com/' -e 's/\$\[\[ inputs.register \]\]/false/' \
    -e 's/\$\[\[ inputs\.[a-z-]* \]\]//' "${out}/inputs.env")
  last_log="${out}/log"
  leak_scan "${last_log}"
  envs+=(EXPECTED_SHA="${canary_sha256}")
  # shellcheck disable=SC2016  # $EXPECTED_SHA is expanded by the job shell
  (cd "${project}" && env -i "${envs[@]}" "$@" -c "$(cat "${out}/before.sh"; echo; echo 'python3 key_probe.py keyring "${EXPECTED_SHA}"')") \
    >"${last_log}" 2>&1 || fail "before_script failed" || return 1
  (cd "${project}" && env -i "${envs[@]}" "$@" "${out}/after.sh") >>"${last_log}" 2>&1 || fail "after_script failed" || return 1
  expect_log "probe: ok mode=keyring" || return 1
  expect_log "anaconda-ci-auth: removed ${work}/posix/tmp/anaconda-ci-auth-" || return 1
  no_job_dirs "${work}/posix/tmp" || return 1
  leak_scan "${project}"
  rm -rf "${out}"
}

test_dash() {
  posix_run dash
}

test_busybox_sh() {
  posix_run busybox sh
}

test_template_shape() {
  python3 - "${template}" "${root}/gitlab/README.md" <<'PY'
import sys, yaml
text = open(sys.argv[1]).read()
header, body = list(yaml.safe_load_all(text))
problems = []
for name, job in body.items():
    if not name.startswith("."):
        problems.append(f"top-level key {name!r} is not a hidden job (no global keywords, no visible jobs)")
        continue
    if "artifacts" in job:
        problems.append(f"{name} declares artifacts")
    for part in ("before_script", "after_script", "script"):
        for line in job.get(part, []):
            if "$[[" in line:
                problems.append(f"{name}.{part} interpolates an input into shell")
for name, spec in header["spec"]["inputs"].items():
    if "key" in name and "variable" not in name:
        problems.append(f"input {name!r} looks like it takes a key")
readme = open(sys.argv[2]).read()
for name in header["spec"]["inputs"]:
    if f"| `{name}` |" not in readme:
        problems.append(f"input {name!r} is missing from the inputs table in gitlab/README.md")
for p in problems:
    print("    " + p)
sys.exit(1 if problems else 0)
PY
}

# The template's hook block is gitlab/scripts/job.sh as scripts/package-gitlab-template.sh copies
# it, and the check notices a script edited without copying it again.
test_template_copy() {
  local copy="${work}/template-copy"
  "${root}/scripts/package-gitlab-template.sh" --check
  mkdir -p "${copy}/scripts" "${copy}/gitlab/scripts" "${copy}/gitlab/templates"
  cp "${root}/scripts/package-gitlab-template.sh" "${copy}/scripts/"
  cp "${root}/gitlab/scripts/job.sh" "${copy}/gitlab/scripts/"
  cp "${template}" "${copy}/gitlab/templates/"
  printf '# an edit that was not copied into the template\n' >>"${copy}/gitlab/scripts/job.sh"
  if "${copy}/scripts/package-gitlab-template.sh" --check >"${copy}/check.log" 2>&1; then
    fail "--check accepted a template that lacks an edit of gitlab/scripts/job.sh"
  fi
  expect_in "${copy}/check.log" "is not up to date with gitlab/scripts/job.sh"
  "${copy}/scripts/package-gitlab-template.sh"
  "${copy}/scripts/package-gitlab-template.sh" --check
  expect_in "${copy}/gitlab/templates/anaconda-ci-auth.yml" "# an edit that was not copied into the template"
}

test_lint() {
  local out="${work}/lint"
  mkdir -p "${out}"
  python3 - "${template}" "${out}" <<'PY' || return 1
import json, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 2, "expected a spec header and a body"
for name, doc in zip(("header", "body"), docs):
    json.dump(doc, open(f"{sys.argv[2]}/{name}.json", "w"))
body = next(iter(docs[1].values()))
for part in ("before_script", "after_script"):
    open(f"{sys.argv[2]}/{part}.sh", "w").write("#!/bin/sh\n" + "\n".join(body[part]) + "\n")
inputs = docs[0]["spec"]["inputs"]
missing = [k for k, v in inputs.items() if not v.get("description") or not v.get("type")]
assert not missing, f"inputs without a description or a type: {missing}"
PY
  check-jsonschema --builtin-schema vendor.gitlab-ci "${out}/header.json" "${out}/body.json" >"${out}/schema.log" 2>&1 ||
    { cat "${out}/schema.log"; return 1; }
  python3 - "${root}/gitlab/README.md" "${out}" <<'PY' || return 1
import re, sys
blocks = re.findall(r"```yaml\n(.*?)```", open(sys.argv[1]).read(), re.S)
assert blocks, "no yaml examples in gitlab/README.md"
for i, block in enumerate(blocks):
    open(f"{sys.argv[2]}/readme-{i}.yml", "w").write(block)
PY
  check-jsonschema --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci \
    "${root}/gitlab/examples/.gitlab-ci.yml" "${scenarios}"/*.gitlab-ci.yml "${out}"/readme-*.yml >"${out}/examples.log" 2>&1 ||
    { cat "${out}/examples.log"; return 1; }
  # The template's shell as POSIX sh. Excluded: SC2154 (the CI_* and input variables come from
  # GitLab), SC3067 (`test -O`: not POSIX, but dash, busybox, bash and ksh have it; see the
  # dash and busybox tests) and SC2329 (both hooks define all of gitlab/scripts/job.sh's
  # functions, and each calls only its own).
  shellcheck -s sh -e SC2154,SC3067,SC2329 "${out}/before_script.sh" "${out}/after_script.sh" || return 1
  yamllint -f parsable -c "${root}/.yamllint" "${root}/gitlab" "${root}/tests/gitlab" || return 1
  (cd "${root}" && shellcheck -x tests/suites/40-gitlab.sh gitlab/scripts/job.sh scripts/package-gitlab-template.sh) || return 1
}

# ---- main ------------------------------------------------------------------------------------

prerequisites() {
  local ok=0 tool
  [[ -x "${bin}" ]] || { echo "not ok - prerequisite: ${bin} missing (cargo build)"; ok=1; }
  [[ -x "${glcl}" ]] || { echo "not ok - prerequisite: gitlab-ci-local missing (tests/bootstrap.sh)"; ok=1; }
  for tool in rsync git curl check-jsonschema yamllint shellcheck dash busybox; do
    command -v "${tool}" >/dev/null || { echo "not ok - prerequisite: ${tool} missing"; ok=1; }
  done
  "${venv}/bin/python" -c 'import anaconda_auth' 2>/dev/null ||
    { echo "not ok - prerequisite: anaconda-auth missing in ${venv}"; ok=1; }
  return "${ok}"
}

start_suite_api() {
  mkdir -p "${work}/releases/v${version}"
  ln -s "${bin}" "${work}/releases/v${version}/anaconda-ci-auth-${version}-$(release_target)"
  start_fake_api "${work}" --log "${work}/api.log" --files "${work}/releases" || return 1
  api_port="${fake_api_url##*:}"
}

main() {
  if ! prerequisites; then
    echo "${suite}: 0 passed, 1 failed"
    return 1
  fi
  work="$(mktemp -d)"
  trap finish EXIT
  mkdir -p "${work}/bin" "${work}/home" "${work}/secrets"
  ln -s "${bin}" "${work}/bin/anaconda-ci-auth"
  (umask 077 && printf '%s\n' "${canary_key}" >"${work}/secrets/api-key")
  : >"${work}/api.log"
  version="$("${bin}" --version | awk '{print $2}')"
  canary_sha256="$(sha256_of "${canary_key}")"
  start_suite_api || { echo "${suite}: 0 passed, 1 failed"; return 1; }
  runner_init "${work}"

  scenario_table
  run_test "the next setup sweeps a timed-out job's directory in \${CI_PROJECT_DIR}.tmp" test_stale_sweep
  run_test "include: project: at a tag, fetched from a git server" test_project_include
  run_test "install-method download: installer and checksums from the major tag, verified binary from the mirror" test_download
  run_test "install-method download with the installer input (a vendored checkout)" test_installer_input
  run_test "install-method download: a checksum mismatch stops the job" test_download_checksum_mismatch
  run_test "the README's first example runs as a whole job: download, online validation, register, conda, cleanup" test_readme_first_example
  run_test "the template's scripts run under dash (set -e)" test_dash
  run_test "the template's scripts run under busybox sh (set -e)" test_busybox_sh
  run_test "the template has only hidden jobs, no artifacts, no inputs in shell; README lists every input" test_template_shape
  run_test "the template's hooks are gitlab/scripts/job.sh, copied by scripts/package-gitlab-template.sh" test_template_copy
  run_test "template, examples (also the README's) and scenarios pass the GitLab schema, yamllint, shellcheck" test_lint

  runner_finish "${suite}"
}

main "$@"
