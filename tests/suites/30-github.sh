#!/usr/bin/env bash
# GitHub Action suite: runs the composite action (action.yml, cleanup/action.yml) in the real
# runner `act` (host mode) through the workflows in tests/github/workflows, tests the shared
# binary installer against a loopback release server, and lints the action files and workflows
# (zizmor, actionlint, check-jsonschema, shellcheck, yamllint).
# Everything runs in a network namespace that has only loopback: no test can reach the network.
# The canary key is given to act through a secrets file; the shared runner (tests/lib.sh) checks
# every test's output, which includes act's log, for it.
set -euo pipefail

suite_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Re-run inside a new network namespace with only `lo` up (act needs --no-cache-server there).
if [[ "${ANACONDA_CI_AUTH_GITHUB_SUITE_NETNS:-}" != 1 ]]; then
  # shellcheck disable=SC2016  # $0 is expanded by the inner bash
  exec unshare --net env ANACONDA_CI_AUTH_GITHUB_SUITE_NETNS=1 \
    bash -c 'ip link set lo up && exec bash "$0"' "${suite_root}/tests/suites/30-github.sh"
fi

# shellcheck source=tests/lib.sh
. "${suite_root}/tests/lib.sh"
cd "${root}"

work="$(mktemp -d "${TMPDIR:-/tmp}/github-suite.XXXXXXXX")"

finish() {
  stop_fake_api
  runner_stop_tracked
  if [[ -n "${GITHUB_SUITE_KEEP:-}" ]]; then
    echo "github suite: kept ${work}"
  else
    rm -rf "${work}"
  fi
}
trap finish EXIT

# act with --insecure-secrets echoes what a step appended to $GITHUB_ENV (`::set-env::
# NAME=value`), which the GitHub runner never prints; a test that runs env mode that way drops
# act's echo of ANACONDA_AUTH_API_KEY (and nothing else) from the leak scan with this.
act_set_env_echo='^\[[^]]*\] +⚙  ::set-env:: ANACONDA_AUTH_API_KEY='

# ---- fixtures ------------------------------------------------------------------------------

setup_fixtures() {
  mkdir -p "${work}/bin" "${work}/home" "${work}/release"
  ln -s "${bin}" "${work}/bin/anaconda-ci-auth"
  (
    umask 077
    printf 'ANACONDA_API_KEY=%s\nEXPIRED_API_KEY=%s\n' "${canary_key}" "${expired_key}" >"${work}/act.secrets"
  )
  canary_sha256="$(sha256_of "${canary_key}")"
  : >"${work}/tokens.log"
  start_fake_api "${work}" --log "${work}/tokens.log" --files "${work}/release"
  fake_base="${fake_api_url}"
  cat >"${work}/act.env" <<EOF
ANACONDA_CI_AUTH_TEST_PYTHON=${venv}/bin/python
CANARY_SHA256=${canary_sha256}
FAKE_API=${fake_base}
EOF
}

# act_run LOG [DIR] -- ACT_ARGS...: runs act in host mode, offline, from DIR (default the
# repository), with our secrets and env files (never the defaults .secrets/.env/.vars). The
# binary is on PATH (for `install: path`) unless the caller sets act_path.
act_run() {
  local log="$1" dir="${root}"
  shift
  if [[ "$1" != "--" ]]; then
    dir="$1"
    shift
  fi
  shift
  local rc=0
  env -u ANACONDA_AUTH_API_KEY -u ANACONDA_AUTH_KEYRING_PATH -u CONDARC -u ANACONDA_CI_AUTH_STATE \
    HOME="${work}/home" PATH="${act_path:-${work}/bin:${PATH}}" \
    timeout 300 act -C "${dir}" -P ubuntu-latest=-self-hosted --no-cache-server \
    --secret-file "${work}/act.secrets" --env-file "${work}/act.env" --var-file /dev/null "$@" \
    >"${log}" 2>&1 || rc=$?
  cat "${log}"
  return "${rc}"
}

# ---- act scenarios ---------------------------------------------------------------------------

# act_case TITLE NAME WORKFLOW [FIELD]...: one row of the act table, run as one test
# (run_act_case): act runs tests/github/workflows/WORKFLOW.yml, then the checks.
#   event=EVENT           the event (default: push)
#   args="ARGS"           extra act arguments
#   insecure              --insecure-secrets (act prints secrets unmasked: the leak scan then
#                         sees everything the binary and the action print)
#   set_env_echo=ignored  leave act's echo of ANACONDA_AUTH_API_KEY written to $GITHUB_ENV out of
#                         the leak scan (see act_set_env_echo)
#   tokens=PATH           the fake API received the canary key at PATH
#   expect=TEXT, expect_re=REGEX, expect_not=TEXT, count=N:TEXT, count_re=N:REGEX
#                         checks of act's log (expect_lines in tests/lib.sh; repeatable)
act_case() {
  local field
  row_title="$1"
  row_name="$2"
  row_workflow="$3"
  shift 3
  row_event=push row_set_env_echo="" row_args=() row_checks=() row_tokens=()
  for field in "$@"; do
    case "${field}" in
      event=*) row_event="${field#*=}" ;;
      args=*) read -r -a row_args <<<"${field#*=}" ;;
      insecure) row_args+=(--insecure-secrets) ;;
      set_env_echo=ignored) row_set_env_echo=ignored ;;
      tokens=*) row_tokens+=("${field#*=}") ;;
      expect=* | expect_re=* | expect_not=* | count=* | count_re=*) row_checks+=("${field}") ;;
      *)
        echo "act_case ${row_name}: unknown field ${field}" >&2
        return 1
        ;;
    esac
  done
  run_test "${row_title}" run_act_case
}

run_act_case() {
  local log="${work}/${row_name}.log" path
  if [[ -n "${row_set_env_echo}" ]]; then
    leak_ignore "${act_set_env_echo}"
  fi
  act_run "${log}" -- "${row_event}" -W "tests/github/workflows/${row_workflow}.yml" "${row_args[@]}"
  expect_lines "${log}" "${row_checks[@]}"
  for path in "${row_tokens[@]}"; do
    check "the fake API received the canary key at ${path}" grep -qF "${path} ${canary_sha256}" "${work}/tokens.log"
  done
}

# The act runs with the shape: one workflow, checks of its log and of the keys the fake API got.
act_table() {
  local failed_clean="check-failed: the action failed and left nothing behind"
  local from_keyring="anaconda-auth loaded the job's key from the job keyring (sha256 matches)"
  local from_env="anaconda-auth loaded the job's key from the environment (sha256 matches)"
  # In the masked run the binary registered masks before printing: act shows each ::add-mask::
  # command as ***.
  act_case "act: keyring mode, outputs, real anaconda-auth loads the key (masked run)" keyring-masked keyring \
    expect="check-outputs: all outputs are set and consistent (keyring mode)" expect="${from_keyring}" \
    expect_re='⚙  \*\*\*$'
  act_case "act: keyring mode with --insecure-secrets never prints the key" keyring-insecure keyring insecure \
    expect="${from_keyring}"
  act_case "act: env and both modes export the key for anaconda-auth" env-mode env-mode \
    expect="check-outputs: all outputs are set and consistent (env mode)" \
    expect="check-outputs: all outputs are set and consistent (both mode)" expect="${from_env}" expect="${from_keyring}"
  act_case "act: env and both modes with --insecure-secrets never print the key" env-mode-insecure env-mode \
    insecure set_env_echo=ignored expect="${from_env}"
  act_case "act: an expired or too short-lived key fails the step" expired expired insecure \
    count="2:${failed_clean}" expect="::error title=anaconda-ci-auth::the API key expired at 2023-07-11T15:19:46Z" \
    expect="sooner than --min-validity allows" count="2:setup exited with status 5" \
    expect="anaconda-ci-auth: nothing to clean up"
  act_case "act: an empty api-key or a bad input fails before setup" inputs inputs insecure \
    count="2:${failed_clean}" expect="::error title=anaconda-ci-auth::input \`api-key\` is empty" \
    expect="setup exited with status 3" expect="::error title=anaconda-ci-auth::input \`mode\` is" \
    expect="expected keyring, env or both" expect="setup exited with status 2"
  act_case "act: a key the API rejects (401) fails the step" rejected rejected insecure \
    expect="${failed_clean}" expect="::error title=anaconda-ci-auth::the Anaconda API rejected the key (401)" \
    expect="setup exited with status 6" tokens=/reject/api/account
  act_case "act: online validation sets the username output" online online insecure \
    expect="check-outputs: all outputs are set and consistent (keyring mode)" \
    expect="::set-output:: username=ci-bot" expect="${from_keyring}" tokens=/ok/api/account
  act_case "act: the cleanup sub-action leaves nothing behind" cleanup cleanup insecure set_env_echo=ignored \
    expect="check-cleaned: the job directory and its files are gone" expect="anaconda-ci-auth: removed" \
    expect="anaconda-ci-auth: nothing to clean up"
  act_case "act: clients and accept-tos inputs configure pixi and the ToS; empty inputs keep the job's variables" clients clients \
    insecure expect="check-clients: ok conda pixi no-uv tos" expect="check-clients: ok conda uv no-pixi tos" \
    expect="check-clients: ok conda pixi no-uv no-tos" expect="${failed_clean}" \
    expect="::error title=anaconda-ci-auth::input \`clients\` is" expect="setup exited with status 2"
  act_case "act: pull_request_target from a fork is refused unless allowed" untrusted untrusted \
    event=pull_request_target args="-e tests/github/fork-event.json" insecure expect="${failed_clean}" \
    expect="refusing to use the key on an untrusted trigger: pull_request_target from the fork \`evil/fork\`" \
    expect="because it was explicitly allowed"
}

test_leak_check_catches_a_leak() {
  local log="${work}/leak-control.log"
  expect_leak
  act_run "${log}" -- push -W tests/github/workflows/leak-control.yml --insecure-secrets
  if assert_no_leak "${log}" "${canary_key}" 2>/dev/null; then
    echo "the leak check missed a key printed on purpose"
    return 1
  fi
  echo "the leak check caught the deliberate leak"
}

# A copy of the working tree (as act would see it) whose checksums/ lists a fake release served
# on loopback: the real binary as v<version>, and a tampered asset for 0.0.1-tampered.
make_release_checkout() {
  local copy="$1" version target asset evil
  mkdir -p "${copy}"
  git -C "${root}" ls-files -z --cached --others --exclude-standard |
    rsync -a --from0 --files-from=- "${root}/" "${copy}/"
  rsync -a "${root}/.git" "${copy}/"
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "${root}/Cargo.toml" | head -n 1)"
  target=x86_64-unknown-linux-musl
  asset="anaconda-ci-auth-${version}-${target}"
  mkdir -p "${work}/release/v${version}" "${work}/release/v0.0.1-tampered"
  cp "${bin}" "${work}/release/v${version}/${asset}"
  (cd "${work}/release/v${version}" && sha256sum "${asset}") >"${copy}/checksums/v${version}.txt"
  evil="${work}/release/v0.0.1-tampered/anaconda-ci-auth-0.0.1-tampered-${target}"
  printf '#!/bin/sh\ntouch "%s/TAMPERED-ASSET-RAN"\n' "${work}" >"${evil}"
  printf '%s  anaconda-ci-auth-0.0.1-tampered-%s\n' "$(printf 'the published build' | sha256sum | cut -d ' ' -f 1)" \
    "${target}" >"${copy}/checksums/v0.0.1-tampered.txt"
}

# PATH without any directory that holds an anaconda-ci-auth.
path_without_binary() {
  local dir out=""
  local IFS=:
  for dir in ${PATH}; do
    [[ -n "${dir}" && ! -e "${dir}/anaconda-ci-auth" ]] && out="${out:+${out}:}${dir}"
  done
  printf '%s\n' "${out}"
}

test_action_download() {
  local log="${work}/download.log" copy="${work}/checkout" act_path
  act_path="$(path_without_binary)"
  make_release_checkout "${copy}"
  printf 'ANACONDA_CI_AUTH_DOWNLOAD_BASE=%s/files\n' "${fake_base}" >>"${work}/act.env"
  act_run "${log}" "${copy}" -- push -W "${copy}/tests/github/workflows/download.yml" --insecure-secrets
  expect_in "${log}" "install-binary: verified anaconda-ci-auth-"
  expect_in "${log}" "anaconda-auth loaded the job's key from the job keyring (sha256 matches)"
  expect_in "${log}" "check-cleaned: the job directory and its files are gone"
  expect_in "${log}" "checksum mismatch for anaconda-ci-auth-0.0.1-tampered-"
  expect_in "${log}" "check-failed: the action failed and left nothing behind"
  check "the tampered asset never ran" test ! -e "${work}/TAMPERED-ASSET-RAN"
}

# not_in_file TEXT FILE: FILE is missing or does not contain TEXT.
not_in_file() {
  ! grep -qsF -- "$1" "$2"
}

# The post step: act runs it after the job's steps (also after a failed one). Each job of
# post.yml wrote its job directory to $HOME/post-<job>.dir.
test_action_post() {
  local log="${work}/post.log" rc=0 job dir mamba="${work}/home/.mamba/auth/authentication.json"
  rm -f "${work}"/home/post-*.dir
  act_run "${log}" -- push -W tests/github/workflows/post.yml || rc=$?
  check "act fails only for the job that fails on purpose" test "${rc}" -eq 1
  expect_lines "${log}" "count=1:check-post: failing on purpose" "expect=check-post: the job domain was kept" \
    "count_re=4:⭐ Run Post \\./$" "count=3:| anaconda-ci-auth: removed /" \
    "expect=post-cleanup is false; leaving the job files to the cleanup sub-action" \
    "expect=anaconda-ci-auth: nothing to clean up (already removed)" \
    "expect=check-cleaned: the job directory and its files are gone" \
    "expect=Summary - **anaconda-ci-auth cleanup**: removed"
  # act deletes RUNNER_TEMP when a job ends, so the post step's work shows in its log and in
  # ~/.mamba, which lies outside RUNNER_TEMP.
  for job in auto failed-job opted-out; do
    check "the ${job} job recorded its directory" test -s "${work}/home/post-${job}.dir"
  done
  for job in auto failed-job; do
    dir="$(cat "${work}/home/post-${job}.dir")"
    check "the post step of the ${job} job removed its directory" grep -qF "[post/${job}" <(grep -F "anaconda-ci-auth: removed ${dir}" "${log}")
  done
  dir="$(cat "${work}/home/post-opted-out.dir")"
  check "post-cleanup: false did not remove the job directory" test "$(grep -cF "removed ${dir}" "${log}")" -eq 0
  check "the post steps took the key back out of ~/.mamba" not_in_file "${canary_key}" "${mamba}"
}

# main.js with the step scripts replaced by ones that record their environment: only setup gets
# the key; install gets no INPUT_* variable; the binary's directory goes to GITHUB_PATH.
test_main_js_environments() {
  local dir="${work}/main-js" rc=0
  mkdir -p "${dir}/action" "${dir}/runner"
  cp action/main.js action/post.js action/run.js "${dir}/action/"
  cat >"${dir}/action/install.sh" <<EOF
#!/usr/bin/env bash
env >"${dir}/install.env"
printf 'path=%s\\nnative-path=%s\\n' "${bin}" "${bin}" >>"\${GITHUB_OUTPUT}"
EOF
  cat >"${dir}/action/setup.sh" <<EOF
#!/usr/bin/env bash
env >"${dir}/setup.env"
EOF
  : >"${dir}/runner/output"
  : >"${dir}/runner/path"
  : >"${dir}/runner/state"
  env "INPUT_API-KEY=${canary_key}" INPUT_INSTALL=path INPUT_DOMAIN= INPUT_POST-CLEANUP=true \
    RUNNER_TEMP="${dir}/runner" GITHUB_OUTPUT="${dir}/runner/output" GITHUB_PATH="${dir}/runner/path" \
    GITHUB_STATE="${dir}/runner/state" node "${dir}/action/main.js" || rc=$?
  check "main.js succeeds" test "${rc}" -eq 0
  check "install ran without any INPUT_ variable" test "$(grep -c '^INPUT_' "${dir}/install.env")" -eq 0
  check "install ran without the key" test "$(grep -cF -- "${canary_key}" "${dir}/install.env")" -eq 0
  check "install got its inputs" grep -qx 'ANACONDA_CI_AUTH_INPUT_INSTALL=path' "${dir}/install.env"
  check "setup ran without any INPUT_ variable" test "$(grep -c '^INPUT_' "${dir}/setup.env")" -eq 0
  check "setup got the key as ANACONDA_CI_AUTH_INPUT_API_KEY" \
    grep -qxF -- "ANACONDA_CI_AUTH_INPUT_API_KEY=${canary_key}" "${dir}/setup.env"
  check "an empty input reaches setup as empty" grep -qx 'ANACONDA_CI_AUTH_INPUT_DOMAIN=' "${dir}/setup.env"
  check "setup got the binary" grep -qxF -- "ANACONDA_CI_AUTH_BIN=${bin}" "${dir}/setup.env"
  check "the binary-path output is set" grep -qxF -- "binary-path=${bin}" "${dir}/runner/output"
  check "the binary's own directory is on GITHUB_PATH" grep -qxF -- "${dir}/runner/anaconda-ci-auth.path" "${dir}/runner/path"
  check "that directory holds only the binary" test "$(ls -A "${dir}/runner/anaconda-ci-auth.path")" = anaconda-ci-auth
  check "the post step is told the binary" grep -qxF -- "binary=${bin}" "${dir}/runner/state"
  rc=0
  env "INPUT_API-KEY=${canary_key}" INPUT_POST-CLEANUP=sometimes RUNNER_TEMP="${dir}/runner" \
    GITHUB_OUTPUT="${dir}/runner/output" GITHUB_PATH="${dir}/runner/path" GITHUB_STATE="${dir}/runner/state" \
    node "${dir}/action/main.js" >"${dir}/bad.out" 2>&1 || rc=$?
  cat "${dir}/bad.out"
  check "a bad post-cleanup input fails before anything runs (exit 2)" test "${rc}" -eq 2
  expect_in "${dir}/bad.out" "input \`post-cleanup\` must be true or false"
}

# The README's GitHub example, exactly as written (extracted from README.md), in act: the remote
# actions it names are replaced by local folders (--local-repository): this action by a checkout
# with a release on loopback, setup-miniconda by tests/github/fake-setup-miniconda, whose conda
# checks what the real one needs to send the key (plugin installed by `register`, the channel
# routed to anaconda-auth, the job keyring loading the key in the real anaconda-auth).
test_readme_example() {
  local log="${work}/readme.log" copy="${work}/readme-checkout" workflow="${work}/readme.yml" act_path
  act_path="$(path_without_binary)"
  make_release_checkout "${copy}"
  python3 - "${root}/README.md" "${workflow}" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text.split("\n## GitHub Actions\n", 1)[1]
block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
open(sys.argv[2], "w", encoding="utf-8").write("name: readme\non: push\n" + block)
PY
  grep -q '^name: readme' "${workflow}"
  cp "${workflow}" "${copy}/.github/workflows/readme.yml"
  grep -q '^ANACONDA_CI_AUTH_DOWNLOAD_BASE=' "${work}/act.env" ||
    printf 'ANACONDA_CI_AUTH_DOWNLOAD_BASE=%s/files\n' "${fake_base}" >>"${work}/act.env"
  # The example validates online (the default): against the fake API, through the variable a job
  # may set (the example itself stays as written).
  act_run "${log}" "${copy}" -- push -W "${copy}/.github/workflows/readme.yml" \
    --env "ANACONDA_CI_AUTH_API_URL=${fake_base}/ok" \
    --local-repository "anaconda-ci-auth/anaconda-ci-auth@<commit-sha>=${copy}" \
    --local-repository "conda-incubator/setup-miniconda@<commit-sha>=${copy}/tests/github/fake-setup-miniconda"
  expect_lines "${log}" "expect=install-binary: verified anaconda-ci-auth-" \
    "expect=anaconda-ci-auth: running conda install --name base anaconda-registration" \
    "expect=fake-conda: https://repo.anaconda.cloud/repo/main is routed to anaconda-auth" \
    "expect=anaconda-auth loaded the job's key from the job keyring (sha256 matches)" \
    "expect=fake-conda: would install numpy" "expect=anaconda-ci-auth: removed /" "expect=🏁  Job succeeded" \
    "expect=::set-output:: username=ci-bot"
  check "the fake API received the canary key at /ok/api/account" grep -qF "/ok/api/account ${canary_sha256}" "${work}/tokens.log"
}

# ---- the shared installer on its own --------------------------------------------------------

# A minimal checkout holding only the installer, a Cargo.toml and a checksums file for 9.9.9.
make_installer_fixture() {
  local dir="$1" asset="anaconda-ci-auth-9.9.9-x86_64-unknown-linux-musl"
  mkdir -p "${dir}/repo/scripts" "${dir}/repo/checksums" "${dir}/files/v9.9.9"
  cp "${root}/scripts/install-binary.sh" "${dir}/repo/scripts/"
  printf '[package]\nname = "anaconda-ci-auth"\nversion = "9.9.9"\n' >"${dir}/repo/Cargo.toml"
  printf '#!/bin/sh\necho "anaconda-ci-auth 9.9.9 (fake release)"\n' >"${dir}/files/v9.9.9/${asset}"
  (cd "${dir}/files/v9.9.9" && sha256sum "${asset}") >"${dir}/repo/checksums/v9.9.9.txt"
}

installer() {
  env -u RUNNER_TEMP -u GITHUB_ACTIONS RUNNER_OS=Linux RUNNER_ARCH=X64 \
    ANACONDA_CI_AUTH_DOWNLOAD_BASE="$1" ANACONDA_CI_AUTH_INSTALL_DIR="$2" \
    bash "$3/repo/scripts/install-binary.sh" download "${4:-}"
}

test_installer_good_checksum() {
  local dir="${work}/installer-good" out
  make_installer_fixture "${dir}"
  # The fake server serves ${work}/release; link this fixture's files into it.
  ln -s "${dir}/files/v9.9.9" "${work}/release/v9.9.9"
  out="$(installer "${fake_base}/files" "${dir}/inst" "${dir}" 2>"${dir}/err")"
  cat "${dir}/err"
  check "stdout is the installed path" test "${out}" = "${dir}/inst/bin/anaconda-ci-auth"
  check "the binary is executable" test -x "${out}"
  expect_in "${dir}/err" "verified anaconda-ci-auth-9.9.9-x86_64-unknown-linux-musl"
  expect_in "${dir}/err" "anaconda-ci-auth 9.9.9 (fake release)"
  # The default version is the checkout's Cargo.toml version; v-prefixed versions work too.
  out="$(installer "${fake_base}/files" "${dir}/inst" "${dir}" v9.9.9 2>/dev/null)"
  check "an explicit vX.Y.Z works" test "${out}" = "${dir}/inst/bin/anaconda-ci-auth"
}

test_installer_tampered() {
  local dir="${work}/installer-bad" rc=0 out
  make_installer_fixture "${dir}"
  rm -f "${work}/release/v9.9.9"
  ln -s "${dir}/files/v9.9.9" "${work}/release/v9.9.9"
  printf '#!/bin/sh\ntouch "%s/EXECUTED"\n' "${dir}" >"${dir}/files/v9.9.9/anaconda-ci-auth-9.9.9-x86_64-unknown-linux-musl"
  out="$(installer "${fake_base}/files" "${dir}/inst" "${dir}" 2>"${dir}/err")" || rc=$?
  cat "${dir}/err"
  check "the installer fails" test "${rc}" -eq 1
  check "nothing on stdout" test -z "${out}"
  expect_in "${dir}/err" "checksum mismatch for anaconda-ci-auth-9.9.9-x86_64-unknown-linux-musl"
  expect_in "${dir}/err" "the download was deleted and not run"
  check "the tampered asset was not executed" test ! -e "${dir}/EXECUTED"
  check "nothing is left in the install dir" test -z "$(ls -A "${dir}/inst/bin")"
}

test_installer_refusals() {
  local dir="${work}/installer-refusals" rc
  make_installer_fixture "${dir}"
  rc=0
  installer "http://example.com/files" "${dir}/inst" "${dir}" 2>"${dir}/err1" || rc=$?
  cat "${dir}/err1"
  check "plain http to a non-loopback host is refused" test "${rc}" -eq 1
  expect_in "${dir}/err1" "only https:// (or http:// to a loopback address) is allowed"
  rc=0
  installer "${fake_base}/files" "${dir}/inst" "${dir}" 1.2.3 2>"${dir}/err2" || rc=$?
  cat "${dir}/err2"
  check "a version without a checksums file is refused" test "${rc}" -eq 1
  expect_in "${dir}/err2" "no checksums for version 1.2.3"
  check "nothing was downloaded for it" test -z "$(ls -A "${dir}/inst/bin" 2>/dev/null)"
  rc=0
  installer "${fake_base}/files" "${dir}/inst" "${dir}" '1.0;id' 2>"${dir}/err3" || rc=$?
  check "a malformed version is refused" test "${rc}" -eq 1
  expect_in "${dir}/err3" "is not a version like 1.2.3"
  # An install directory that another user created first (the suite runs as root; nobody owns it).
  mkdir -p "${dir}/foreign/bin"
  chown -R 65534:65534 "${dir}/foreign"
  rc=0
  installer "${fake_base}/files" "${dir}/foreign" "${dir}" 2>"${dir}/err4" || rc=$?
  cat "${dir}/err4"
  check "another user's install directory is refused" test "${rc}" -eq 1
  expect_in "${dir}/err4" "belongs to another user"
  check "nothing was downloaded into it" test -z "$(ls -A "${dir}/foreign/bin")"
}

test_installer_path() {
  local out
  out="$(PATH="${work}/bin:${PATH}" bash "${root}/scripts/install-binary.sh" path 2>/dev/null)"
  check "path mode prints the binary on PATH" test "${out}" = "${work}/bin/anaconda-ci-auth"
}

# The runner drops a step output that holds a masked value ("Skip output ... since it may contain
# secret"), which act does not emulate: the CI workflow's throw-away key must reach the action
# through $GITHUB_ENV, never through a step output.
test_ci_test_key_not_an_output() {
  local dir="${work}/ci-key" masked
  mkdir -p "${dir}"
  : >"${dir}/output"
  : >"${dir}/env"
  GITHUB_OUTPUT="${dir}/output" GITHUB_ENV="${dir}/env" bash "${root}/tests/github/make-test-key.sh" valid >"${dir}/stdout"
  masked="$(sed -n 's/^::add-mask:://p' "${dir}/stdout")"
  check "the key was masked" test -n "${masked}"
  check "the masked key is in no step output" test "$(grep -cF -- "${masked#*.}" "${dir}/output")" -eq 0
  check "the key is exported through GITHUB_ENV" grep -q '^ANACONDA_CI_AUTH_TEST_KEY=' "${dir}/env"
  # shellcheck disable=SC2016  # a literal GitHub expression
  check "the workflow passes it from env" grep -qF 'api-key: ${{ env.ANACONDA_CI_AUTH_TEST_KEY }}' "${root}/.github/workflows/ci.yml"
  check "no workflow reads a key from a step output" test "$(grep -c 'outputs\.key }}' "${root}/.github/workflows/ci.yml")" -eq 0
}

# ---- static checks -------------------------------------------------------------------------

action_files=(action.yml cleanup/action.yml)
workflow_files=()

collect_workflows() {
  local f
  for f in .github/workflows/*.yml tests/github/workflows/*.yml; do
    [[ -f "${f}" ]] && workflow_files+=("${f}")
  done
}

test_zizmor() {
  local out
  out="$(zizmor --offline "${action_files[@]}" "${workflow_files[@]}" 2>&1)"
  echo "${out}"
  expect_in <(echo "${out}") "No findings to report"
}

test_zizmor_catches_injection() {
  local dir="${work}/zizmor-control"
  mkdir -p "${dir}"
  sed 's|run: bash "${GITHUB_ACTION_PATH}/../action/cleanup.sh"|run: echo "${{ inputs.binary-path }}"|' \
    cleanup/action.yml >"${dir}/action.yml"
  grep -q 'inputs.binary-path }}"' "${dir}/action.yml"
  if zizmor --offline "${dir}/action.yml" >"${dir}/out" 2>&1; then
    cat "${dir}/out"
    echo "zizmor did not flag an input expanded inside run:"
    return 1
  fi
  expect_in "${dir}/out" "template-injection"
}

test_no_expressions_in_run() {
  python3 - "${action_files[@]}" <<'PY'
import sys, yaml
bad = []
for path in sys.argv[1:]:
    runs = yaml.safe_load(open(path))["runs"]
    if runs["using"] != "composite":
        # A JavaScript action: no expression anywhere, the scripts get inputs as INPUT_*.
        if "${{" in open(path).read():
            bad.append(f"{path}: an expression in a JavaScript action")
        continue
    for i, step in enumerate(runs["steps"]):
        if "${{" in step.get("run", ""):
            bad.append(f"{path}: step {i}")
        for name in step.get("env", {}):
            if not name.startswith("ANACONDA_CI_AUTH_"):
                bad.append(f"{path}: step {i} maps an unprefixed variable {name}")
if bad:
    sys.exit("\n".join(bad))
print("no ${{ }} inside run:, all mapped variables are prefixed")
PY
}

test_node_check() {
  local f
  for f in action/*.js; do
    node --check "${f}"
  done
  python3 - <<'PY'
import yaml
runs = yaml.safe_load(open("action.yml"))["runs"]
assert runs["using"] == "node24", runs
for key in ("main", "post"):
    open(runs[key]).close()
assert runs["post-if"] == "always()", runs
print("action.yml: node24, main and post exist, post-if: always()")
PY
  # Node's own modules only: nothing to install or bundle.
  check "the action's JavaScript requires only Node's modules and its own files" \
    test "$(grep -ohE "require\('[^']+'\)" action/*.js | sort -u | grep -cvE "'(child_process|fs|os|path|\./run\.js)'")" -eq 0
}

test_actionlint() {
  actionlint -no-color "${workflow_files[@]}"
}

test_jsonschema() {
  check-jsonschema --builtin-schema vendor.github-actions "${action_files[@]}"
  check-jsonschema --builtin-schema vendor.github-workflows "${workflow_files[@]}"
}

test_shellcheck() {
  shellcheck -x action/common.sh action/install.sh action/setup.sh action/cleanup.sh \
    scripts/install-binary.sh tests/github/*.sh tests/suites/30-github.sh
}

test_yamllint() {
  yamllint -s -c .yamllint "${action_files[@]}" "${workflow_files[@]}"
}

# ---- main ----------------------------------------------------------------------------------

main() {
  runner_init "${work}"
  setup_fixtures
  collect_workflows
  run_test "zizmor --offline: no findings on the action files and workflows" test_zizmor
  run_test "zizmor flags an input expanded inside run: (control)" test_zizmor_catches_injection
  run_test "action files: no \${{ }} inside run:, inputs only through prefixed env" test_no_expressions_in_run
  run_test "the action's JavaScript parses, uses only Node's modules, and has a post step" test_node_check
  run_test "main.js: only setup sees the key; the binary goes on PATH; bad post-cleanup refused" test_main_js_environments
  run_test "actionlint passes on all workflows" test_actionlint
  run_test "check-jsonschema: action and workflow schemas" test_jsonschema
  run_test "shellcheck passes on every script of the action" test_shellcheck
  run_test "yamllint passes on the action files and workflows" test_yamllint
  run_test "installer: a good checksum installs and prints the path" test_installer_good_checksum
  run_test "installer: a tampered asset is rejected and never run" test_installer_tampered
  run_test "installer: plain http, unknown versions and bad versions are refused" test_installer_refusals
  run_test "installer: path mode finds the binary on PATH" test_installer_path
  act_table
  run_test "act: the post step cleans up (also after a failed step), unless post-cleanup is false; binary on PATH" test_action_post
  run_test "act: install download verifies the release; a tampered one fails" test_action_download
  run_test "act: the README's GitHub example, as written, installs from an Anaconda channel" test_readme_example
  run_test "act: the leak check catches a key printed on purpose (control)" test_leak_check_catches_a_leak
  run_test "ci.yml: the throw-away key reaches the action through GITHUB_ENV, not a dropped output" test_ci_test_key_not_an_output
  runner_finish github
}

main "$@"
