#!/usr/bin/env bash
# Docker BuildKit suite: lints the Dockerfiles and the compose/workflow examples, then starts a
# private dockerd and runs real BuildKit builds of docker/examples/*.Dockerfile (only the base
# images differ, through build args: locally made busybox images with a fake conda that checks the
# credential it receives) and of docker/Dockerfile. It proves that the key reaches the RUN steps,
# is in no layer, history, metadata, build log or file under dockerd's data-root, that a missing
# secret fails the build, and that exec leaves nothing behind. Offline; stops dockerd on exit.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/docker/lib.sh
source "${root}/tests/docker/lib.sh"

examples="${root}/docker/examples"
work="$(mktemp -d "${TMPDIR:-/tmp}/aca-docker-suite.XXXXXX")"
# docker-secret's own state directories land here too, so cleanup is one rm.
export TMPDIR="${work}/tmp"
mkdir -p "${TMPDIR}" "${work}/out"

cleanup() {
  docker_stop || echo "docker: could not stop dockerd cleanly" >&2
  runner_stop_tracked
  rm -rf "${work}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# no_leak_in FILE...: each captured text contains neither the key nor a derived form (the runner
# scans each test's own output; these are files a command wrote).
no_leak_in() {
  local f
  for f in "$@"; do
    assert_no_leak "${f}" "${canary_key}"
    if binary_has_key "${f}" "${forms}"; then fail "LEAK in ${f}"; fi
  done
}

base_args=(--build-arg "CONDA_IMAGE=${conda_image}" --build-arg "RUNTIME_IMAGE=${runtime_image}")

# ------------------------------------------------------------------------------------------------
test_hadolint() {
  local f
  for f in "${root}/docker/Dockerfile" "${examples}"/*.Dockerfile; do
    hadolint --no-color "${f}"
  done
  # The linter really looks at secrets: a key in an ARG/ENV is flagged.
  printf 'FROM debian:12.5\nARG ANACONDA_API_KEY\nENV ANACONDA_API_KEY=$%s\n' '{ANACONDA_API_KEY}' >"${work}/bad.Dockerfile"
  if hadolint --no-color "${work}/bad.Dockerfile" >"${work}/out/hadolint-bad.txt"; then
    fail "hadolint accepted a key in ARG/ENV"
  fi
  expect_in "${work}/out/hadolint-bad.txt" DL3064
}

test_compose_and_workflow() {
  check-jsonschema --builtin-schema vendor.compose-spec "${examples}/compose.yaml"
  actionlint "${examples}/github-workflow.yml"
  yamllint -c "${root}/.yamllint" "${examples}/compose.yaml" "${examples}/environment.yml" "${examples}/github-workflow.yml"
  # Controls: the same tools reject a misspelt key.
  sed 's/^      secrets:$/      secretz:/' "${examples}/compose.yaml" >"${work}/compose-bad.yaml"
  if check-jsonschema --builtin-schema vendor.compose-spec "${work}/compose-bad.yaml" >/dev/null 2>&1; then
    fail "the compose schema accepted build.secretz"
  fi
  sed 's/secret-files:/secret-filez:/' "${examples}/github-workflow.yml" >"${work}/workflow-bad.yml"
  if actionlint "${work}/workflow-bad.yml" >/dev/null 2>&1; then
    fail "actionlint accepted secret-filez"
  fi
}

test_docker_secret_key() {
  local out="${work}/out/docker-secret-key"
  ANACONDA_AUTH_API_KEY="${canary_key}" "${bin}" docker-secret --validate offline --ci none \
    --out "${work}/key" >"${out}.stdout" 2>"${out}.stderr"
  [[ "$(cat "${out}.stdout")" == "--secret id=ANACONDA_AUTH_API_KEY,src=${work}/key" ]] ||
    fail "unexpected secret argument: $(cat "${out}.stdout")"
  [[ "$(stat -c %a "${work}/key")" == 600 ]] || fail "secret file mode is not 0600"
  cmp -s "${work}/key" <(printf '%s' "${canary_key}") || fail "the secret file is not exactly the key"
  no_leak_in "${out}.stdout" "${out}.stderr"
}

test_docker_secret_keyring() {
  local out="${work}/out/docker-secret-keyring"
  ANACONDA_AUTH_API_KEY="${canary_key}" "${bin}" docker-secret --kind keyring --validate offline \
    --ci none --out "${work}/keyring" >"${out}.stdout" 2>"${out}.stderr"
  [[ "$(cat "${out}.stdout")" == "--secret id=anaconda_keyring,src=${work}/keyring" ]] ||
    fail "unexpected secret argument: $(cat "${out}.stdout")"
  no_leak_in "${out}.stdout" "${out}.stderr"
}

# The build-push-action workflow relies on the step outputs docker-secret sets on GitHub.
test_docker_secret_github() {
  local out="${work}/out/docker-secret-github" gh="${work}/gh"
  mkdir -p "${gh}"
  : >"${gh}/output"
  : >"${gh}/env"
  GITHUB_ACTIONS=true GITHUB_OUTPUT="${gh}/output" GITHUB_ENV="${gh}/env" RUNNER_TEMP="${gh}" \
    ANACONDA_AUTH_API_KEY="${canary_key}" "${bin}" docker-secret --validate offline \
    >"${out}.stdout" 2>"${out}.stderr"
  local path dir
  path="$(grep -A1 '^secret-file<<' "${gh}/output" | sed -n 2p)"
  dir="$(grep -A1 '^dir<<' "${gh}/output" | sed -n 2p)"
  [[ -n "${path}" && "${path}" == "${dir}/"* ]] || fail "no secret-file/dir outputs"
  cmp -s "${path}" "${work}/key" || fail "the secret-file output is not the key file"
  # stdout carries the --secret argument, so the mask commands go to stderr (GitHub reads both).
  expect_in "${out}.stderr" "::add-mask::"
  grep -v '^::add-mask::' "${out}.stderr" >"${out}.unmasked" || true
  no_leak_in "${out}.stdout" "${out}.unmasked" "${gh}/output" "${gh}/env"
  "${bin}" cleanup --ci none --dir "${dir}" 2>/dev/null
  [[ ! -e "${path}" ]] || fail "cleanup --dir left the secret file"
}

# load_keyring HOME [ENV...]: the real anaconda-auth loads the keyring under HOME; prints the SHA-256
# of the API key it found, or the error's type.
load_keyring() {
  local home="$1"
  shift
  env -i HOME="${home}" PATH=/usr/bin:/bin "$@" "${venv}/bin/python" - <<'PY'
import hashlib
from anaconda_auth.token import TokenInfo
try:
    info = TokenInfo.load("anaconda.com")
    print(hashlib.sha256(info.api_key.encode()).hexdigest())
except Exception as e:
    print("error:", type(e).__name__)
PY
}

test_keyring_loads_in_anaconda_auth() {
  local home="${work}/home" want got
  mkdir -p "${home}/.anaconda"
  cp "${work}/keyring" "${home}/.anaconda/keyring"
  want="$(sha256sum <"${work}/key" | cut -d' ' -f1)"
  got="$(load_keyring "${home}")"
  [[ "${got}" == "${want}" ]] || fail "anaconda-auth did not load the key from the keyring: ${got}"
  # Mounted read-only, as BuildKit mounts secrets: ignored unless the backend is named.
  local mount="mount --bind '${home}/.anaconda/keyring' '${home}/.anaconda/keyring' && mount -o remount,bind,ro '${home}/.anaconda/keyring'"
  got="$(unshare -m sh -c "${mount} && env -i HOME='${home}' PATH=/usr/bin:/bin '${venv}/bin/python' -c 'from anaconda_auth.token import TokenInfo; TokenInfo.load(\"anaconda.com\")' 2>&1" || true)"
  [[ "${got}" == *NoKeyringError* ]] || fail "a read-only keyring was not ignored: ${got}"
  got="$(unshare -m sh -c "${mount} && env -i HOME='${home}' PATH=/usr/bin:/bin PYTHON_KEYRING_BACKEND=anaconda_auth.token.AnacondaKeyring '${venv}/bin/python' -c 'import hashlib; from anaconda_auth.token import TokenInfo; print(hashlib.sha256(TokenInfo.load(\"anaconda.com\").api_key.encode()).hexdigest())'")"
  [[ "${got}" == "${want}" ]] || fail "PYTHON_KEYRING_BACKEND did not make the read-only keyring load: ${got}"
}

test_dockerd_starts() {
  docker_start
  make_images "${work}/images" "${work}/key" "${work}/keyring"
  "${docker_cli}" image inspect "${conda_image}" "${runtime_image}" >/dev/null
}

# ---- example 1: anaconda-registration reading /run/secrets/ANACONDA_AUTH_API_KEY ------------------
test_registration_builds() {
  local log="${work}/out/registration.log"
  build "${log}" -f "${examples}/registration.Dockerfile" "${base_args[@]}" \
    --secret "id=ANACONDA_AUTH_API_KEY,src=${work}/key" -t aca-test/registration:1 "${examples}"
  build "${log}.build" -f "${examples}/registration.Dockerfile" "${base_args[@]}" --target build \
    --secret "id=ANACONDA_AUTH_API_KEY,src=${work}/key" -t aca-test/registration-build:1 "${examples}"
  [[ "$(grep -c 'fake conda: .* credentials=secret-file ' "${log}")" == 2 ]] ||
    fail "conda did not get the secret file in both steps"
  run_in aca-test/registration:1 'cat /opt/env/conda-meta/fake-conda.log' >"${log}.record"
  expect_in "${log}.record" "install-anaconda-registration credentials=secret-file"
  expect_in "${log}.record" "env-create credentials=secret-file"
  # The final image holds the environment only: no conda, no package cache, no keyring.
  run_in aca-test/registration:1 'test ! -e /opt/conda && test ! -e /root/.anaconda && test ! -e /run/secrets/ANACONDA_AUTH_API_KEY'
  # The build stage had that tool state, so the check above means something.
  run_in aca-test/registration-build:1 'test -e /opt/conda/bin/conda && test -e /root/.anaconda/keyring'
  run_in aca-test/registration-build:1 'test ! -e /run/secrets/ANACONDA_AUTH_API_KEY'
  no_leak_in "${log}" "${log}.build"
}

test_registration_no_leak() {
  image_scan aca-test/registration:1 "${forms}" "${work}/out"
  image_scan aca-test/registration-build:1 "${forms}" "${work}/out"
}

test_registration_requires_secret() {
  local log="${work}/out/registration-nosecret.log"
  if build "${log}" -f "${examples}/registration.Dockerfile" "${base_args[@]}" --no-cache "${examples}"; then
    fail "the build passed without the secret"
  fi
  expect_in "${log}" "secret ANACONDA_AUTH_API_KEY not found"
  expect_not_in "${log}" "fake conda:"
}

# Control: without required=true the same build silently runs conda with no credential at all.
test_registration_without_required_is_silent() {
  local log="${work}/out/registration-optional.log"
  sed 's/,required=true//' "${examples}/registration.Dockerfile" >"${work}/optional.Dockerfile"
  build "${log}" -f "${work}/optional.Dockerfile" "${base_args[@]}" --no-cache -t aca-test/optional:1 "${examples}"
  expect_in "${log}" "credentials=none"
}

# ---- example 2: a keyring secret at /root/.anaconda/keyring -------------------------------------
test_keyring_builds() {
  local log="${work}/out/keyring.log"
  build "${log}" -f "${examples}/keyring.Dockerfile" "${base_args[@]}" \
    --secret "id=anaconda_keyring,src=${work}/keyring" -t aca-test/keyring:1 "${examples}"
  build "${log}.build" -f "${examples}/keyring.Dockerfile" "${base_args[@]}" --target build \
    --secret "id=anaconda_keyring,src=${work}/keyring" -t aca-test/keyring-build:1 "${examples}"
  expect_in "${log}" "env-create credentials=keyring "
  run_in aca-test/keyring:1 'test ! -e /opt/conda && test ! -e /root/.anaconda'
  run_in aca-test/keyring-build:1 'test ! -s /root/.anaconda/keyring'
  no_leak_in "${log}" "${log}.build"
  image_scan aca-test/keyring:1 "${forms}" "${work}/out"
  image_scan aca-test/keyring-build:1 "${forms}" "${work}/out"
}

test_keyring_requires_secret() {
  local log="${work}/out/keyring-nosecret.log"
  if build "${log}" -f "${examples}/keyring.Dockerfile" "${base_args[@]}" --no-cache "${examples}"; then
    fail "the build passed without the secret"
  fi
  expect_in "${log}" "secret anaconda_keyring not found"
  expect_not_in "${log}" "fake conda:"
}

# BuildKit mounts the keyring read-only, so without PYTHON_KEYRING_BACKEND anaconda-auth's file
# backend (which must open the file for appending) would be dropped: conda gets no credential.
test_keyring_mount_is_read_only() {
  local log="${work}/out/keyring-nobackend.log"
  sed 's/^    PYTHON_KEYRING_BACKEND=[^ ]* \\$/    \\/' "${examples}/keyring.Dockerfile" >"${work}/nobackend.Dockerfile"
  expect_not_in "${work}/nobackend.Dockerfile" "PYTHON_KEYRING_BACKEND=anaconda_auth"
  build "${log}" -f "${work}/nobackend.Dockerfile" "${base_args[@]}" --no-cache \
    --secret "id=anaconda_keyring,src=${work}/keyring" -t aca-test/nobackend:1 "${examples}"
  expect_in "${log}" "env-create credentials=unusable-keyring "
}

# ---- docker/Dockerfile: the binary image ---------------------------------------------------------
test_binary_image() {
  local log="${work}/out/binary.log"
  mkdir -p "${work}/binctx"
  cp "${bin}" "${work}/binctx/anaconda-ci-auth"
  # The tool stage the exec example mounts the binary from (the debug binary is dynamically linked).
  build "${log}" -f "${root}/docker/Dockerfile" --target prebuilt -t "${ci_auth_image}" "${work}/binctx"
  # The final image's smoke test refuses a binary that needs a loader the empty image lacks.
  if build "${log}.final" -f "${root}/docker/Dockerfile" --build-arg SOURCE=prebuilt "${work}/binctx"; then
    fail "the scratch image accepted a dynamically linked binary"
  fi
  expect_in "${log}.final" 'RUN ["/anaconda-ci-auth", "--version"]'
  expect_in "${log}.final" "exec /anaconda-ci-auth: no such file or directory"
}

# ---- example 3: anaconda-ci-auth exec inside the RUN step ---------------------------------------
exec_args=(--build-arg "ANACONDA_CI_AUTH_IMAGE=${ci_auth_image}" --build-arg ANACONDA_CI_AUTH_VALIDATE=offline)

test_exec_builds() {
  local log="${work}/out/exec.log"
  build "${log}" -f "${examples}/exec.Dockerfile" "${base_args[@]}" "${exec_args[@]}" \
    --secret "id=ANACONDA_AUTH_API_KEY,src=${work}/key" -t aca-test/exec:1 "${examples}"
  build "${log}.build" -f "${examples}/exec.Dockerfile" "${base_args[@]}" "${exec_args[@]}" --target build \
    --secret "id=ANACONDA_AUTH_API_KEY,src=${work}/key" -t aca-test/exec-build:1 "${examples}"
  # exec gave conda its keyring and condarc from a private directory, and registered first.
  grep -qE 'fake conda: env-create credentials=secret-file,keyring condarc=job keyring_path=/tmp/anaconda-ci-auth-[0-9a-f]+/keyring' "${log}" ||
    fail "conda did not run with exec's keyring and condarc"
  run_in aca-test/exec-build:1 'cat /opt/conda/fake-conda.log' >"${log}.record"
  expect_in "${log}.record" "install-anaconda-registration credentials=secret-file,keyring condarc=job"
  # The fake conda printed the key as a verbose conda would; exec scrubbed it from the build log.
  expect_in "${log}" "fake conda: debug: Authorization:"
  no_leak_in "${log}" "${log}.build"
}

test_exec_leaves_nothing() {
  # Not in the build stage either: no job directory, no keyring, no binary, no mounted secret.
  # shellcheck disable=SC2016  # expanded inside the container
  run_in aca-test/exec-build:1 \
    'test -z "$(find / -xdev \( -name "anaconda-ci-auth*" -o -name keyring -o -name condarc.yml \) -print)" && test ! -e /run/secrets/ANACONDA_AUTH_API_KEY && test -f /opt/conda/fake-conda.log'
  run_in aca-test/exec:1 'test ! -e /opt/conda && test ! -e /root/.anaconda && test -x /opt/env/bin/python'
  image_scan aca-test/exec:1 "${forms}" "${work}/out"
  image_scan aca-test/exec-build:1 "${forms}" "${work}/out"
}

test_exec_requires_secret() {
  local log="${work}/out/exec-nosecret.log"
  if build "${log}" -f "${examples}/exec.Dockerfile" "${base_args[@]}" "${exec_args[@]}" --no-cache "${examples}"; then
    fail "the build passed without the secret"
  fi
  expect_in "${log}" "secret ANACONDA_AUTH_API_KEY not found"
  expect_not_in "${log}" "fake conda:"
}

# ---- the README's first example ----------------------------------------------------------------
# Its Dockerfile and its bash build step as written, with the base images replaced by the local
# ones and `docker` a shim that adds the suite's --network=none and --progress=plain, and
# --no-cache (the registration example's steps are cached already, and a cached step does not
# run conda); the key is validated offline (ANACONDA_CI_AUTH_VALIDATE, no network here).
test_readme_first_example() {
  local dir="${work}/readme" log="${work}/out/readme.log" before after
  mkdir -p "${dir}/shim"
  python3 - "${root}/docker/README.md" "${dir}" "${conda_image}" "${runtime_image}" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
dockerfile = re.findall(r"```dockerfile\n(.*?)```", text, re.S)[0]
build = re.findall(r"```bash\n(.*?)```", text, re.S)[0]
images = {"continuumio/miniconda3:24.11.1-0": sys.argv[3], "debian:bookworm-slim": sys.argv[4]}
for name, local in images.items():
    assert f"FROM {name}" in dockerfile, f"the first Dockerfile no longer starts FROM {name}: update this test"
    dockerfile = dockerfile.replace(f"FROM {name}", f"FROM {local}")
assert "docker build" in build and "cleanup" in build, "the first bash block is not the build step"
open(f"{sys.argv[2]}/Dockerfile", "w").write(dockerfile)
open(f"{sys.argv[2]}/build.sh", "w").write(build)
PY
  cp "${examples}/environment.yml" "${dir}/"
  # shellcheck disable=SC2016  # expanded by the shim
  printf '#!/bin/sh\nif [ "$1" = build ]; then shift; exec %s build --progress=plain --network=none --no-cache "$@"; fi\nexec %s "$@"\n' \
    "${docker_cli}" "${docker_cli}" >"${dir}/shim/docker"
  chmod +x "${dir}/shim/docker"
  ln -s "${bin}" "${dir}/shim/anaconda-ci-auth"
  hadolint --no-color "${dir}/Dockerfile"
  before="$(find "${TMPDIR}" -maxdepth 1 -name 'anaconda-ci-auth-*' | sort)"
  (cd "${dir}" && PATH="${dir}/shim:${PATH}" ANACONDA_AUTH_API_KEY="${canary_key}" ANACONDA_CI_AUTH_VALIDATE=offline \
    timeout 180 bash -e build.sh) >"${log}" 2>&1 || { tail -20 "${log}"; fail "the README's build step failed"; }
  expect_in "${log}" "fake conda: install-anaconda-registration credentials=secret-file "
  expect_in "${log}" "fake conda: env-create credentials=secret-file "
  expect_in "${log}" "anaconda-ci-auth: removed ${TMPDIR}/anaconda-ci-auth-"
  after="$(find "${TMPDIR}" -maxdepth 1 -name 'anaconda-ci-auth-*' | sort)"
  [[ "${after}" == "${before}" ]] || fail "the build step left its secret directory: ${after}"
  run_in app 'test -x /opt/env/bin/python && test ! -e /opt/conda && test ! -e /root/.anaconda'
  image_scan app "${forms}" "${work}/out"
}

# ---- whole daemon --------------------------------------------------------------------------------
test_data_root_has_no_key() {
  local hits
  hits="$(find "${docker_dir}/root" "${docker_dir}/exec" -type f -print0 | xargs -0 grep -a -l -F -f "${forms}" || true)"
  [[ -z "${hits}" ]] || fail "the key is in files under dockerd's data-root or exec-root: ${hits}"
  # The scan covered the layers the builds produced.
  [[ "$(find "${docker_dir}/root" -type f | wc -l)" -gt 100 ]] || fail "data-root looks empty"
}

# Control: the scan finds a key that a careless step copies into a layer.
test_scan_catches_a_leak() {
  printf 'FROM %s\nRUN --mount=type=secret,id=ANACONDA_AUTH_API_KEY,required=true cp /run/secrets/ANACONDA_AUTH_API_KEY /leaked\n' \
    "${runtime_image}" >"${work}/leak.Dockerfile"
  build "${work}/out/leak.log" -f "${work}/leak.Dockerfile" \
    --secret "id=ANACONDA_AUTH_API_KEY,src=${work}/key" -t aca-test/leak:1 "${work}"
  if image_scan aca-test/leak:1 "${forms}" "${work}/out"; then
    fail "the image scan missed a key copied into a layer"
  fi
}

main() {
  docker_env "${work}/dockerd"
  forms="${work}/forms"
  forms_file "${canary_key}" "${forms}"
  # Every test's commands write their output under ${work}/out: the runner scans it after each.
  runner_init "${work}" "${work}/out"
  run_test "hadolint passes on every Dockerfile" test_hadolint
  run_test "compose.yaml and the build-push-action workflow validate" test_compose_and_workflow
  run_test "docker-secret writes the key file and prints --secret" test_docker_secret_key
  run_test "docker-secret --kind keyring prints --secret for the keyring" test_docker_secret_keyring
  run_test "docker-secret on GitHub: masks, sets secret-file and dir, cleanup removes them" test_docker_secret_github
  run_test "real anaconda-auth loads the keyring secret (read-only: only with PYTHON_KEYRING_BACKEND)" test_keyring_loads_in_anaconda_auth
  run_test "dockerd starts and the local base images exist" test_dockerd_starts
  run_test "registration example: conda gets the secret in each step" test_registration_builds
  run_test "registration example: the key is in no layer, history or metadata" test_registration_no_leak
  run_test "registration example: no secret fails the build" test_registration_requires_secret
  run_test "control: without required=true the build runs unauthenticated" test_registration_without_required_is_silent
  run_test "keyring example: conda gets the keyring, no leak" test_keyring_builds
  run_test "keyring example: no secret fails the build" test_keyring_requires_secret
  run_test "keyring example: the BuildKit mount is read-only, so the backend must be named" test_keyring_mount_is_read_only
  run_test "binary image: tool stage builds; smoke test refuses a dynamic binary" test_binary_image
  run_test "exec example: conda runs with exec's keyring, output scrubbed" test_exec_builds
  run_test "exec example: nothing left in any stage, no leak" test_exec_leaves_nothing
  run_test "exec example: no secret fails the build" test_exec_requires_secret
  run_test "the README's first example: its Dockerfile built by its build step, the secret removed after" test_readme_first_example
  run_test "no file under dockerd's data-root contains the key" test_data_root_has_no_key
  run_test "control: the image scan finds a key copied into a layer" test_scan_catches_a_leak
  runner_finish docker
}

main "$@"
