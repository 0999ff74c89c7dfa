#!/usr/bin/env bash
# Real package clients against the files `anaconda-ci-auth setup --clients` writes: py-rattler (the
# networking stack of pixi and rattler-build), pip and uv, all from PyPI (tests/requirements.txt),
# install from loopback HTTPS repositories (tests/clients/repo_server.py, a throw-away CA made with
# openssl) that answer 401 unless the request carries the key: `Bearer KEY` for the conda channel,
# `Basic __token__:KEY` for the wheel index. Each job runs with a clean environment (`env -i`), its
# own HOME and caches, and only what setup exported; after `cleanup` the same commands must be
# refused. The server logs which credential each request carried (a SHA-256, never the secret), so
# the tests prove the first request of each client already authenticates. The shared runner
# (tests/lib.sh) scans every test's output and every file the clients wrote (HOME, caches, venvs,
# logs, and a sample of the process list) for the key. The first tests check the fixtures themselves,
# with tests/clients/fake-setup.sh standing in for the binary.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

suite="clients"
clients_dir="${root}/tests/clients"
repo_server="${clients_dir}/repo_server.py"
fake_setup="${clients_dir}/fake-setup.sh"
python="${venv}/bin/python"
work=""
port=""
ca=""
server_log=""
server_pid=""
key_sha=""
basic_sha=""
# Credentials a job already had before setup (for other hosts): not the canary, never watched.
user_token="user-token-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
user_password="user-password-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

finish() {
  runner_stop_tracked
  if [[ -n "${server_pid}" ]]; then
    kill "${server_pid}" 2>/dev/null || true
    wait "${server_pid}" 2>/dev/null || true
  fi
  if [[ -n "${work}" && -z "${CLIENTS_SUITE_KEEP:-}" ]]; then
    rm -rf "${work}"
  elif [[ -n "${work}" ]]; then
    echo "kept ${work}"
  fi
}

# ---- prerequisites and fixtures --------------------------------------------------------------

# require_version WHAT WANT COMMAND...: COMMAND prints exactly WANT.
require_version() {
  local what="$1" want="$2" found
  shift 2
  found="$("$@" 2>/dev/null)" || found=""
  if [[ "${found}" != "${want}" ]]; then
    echo "not ok - prerequisite: ${what} is '${found}', expected ${want} (run tests/bootstrap.sh)"
    return 1
  fi
}

prerequisites() {
  local ok=0
  [[ -x "${bin}" ]] || { echo "not ok - prerequisite: ${bin} missing (cargo build)" && ok=1; }
  command -v openssl >/dev/null || { echo "not ok - prerequisite: openssl missing" && ok=1; }
  require_version py-rattler 0.28.0 "${python}" -c 'import importlib.metadata as m; print(m.version("py-rattler"))' || ok=1
  require_version pip 26.3 "${python}" -c 'import pip; print(pip.__version__)' || ok=1
  require_version uv 0.13.9 "${python}" -c 'import importlib.metadata as m; print(m.version("uv"))' || ok=1
  return "${ok}"
}

# make_ca DIR: a throw-away CA (DIR/ca.pem) and a server certificate for localhost and 127.0.0.1.
make_ca() {
  local dir="$1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=anaconda-ci-auth test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "${dir}/ca.key" -out "${dir}/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "${dir}/server.key" \
    -out "${dir}/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"${dir}/server.ext"
  openssl x509 -req -in "${dir}/server.csr" -CA "${dir}/ca.pem" -CAkey "${dir}/ca.key" -CAcreateserial \
    -days 2 -extfile "${dir}/server.ext" -out "${dir}/server.pem" 2>/dev/null
}

# start_server: builds the packages, starts the repository server; sets port, ca, server_log.
start_server() {
  local dir="${work}/server" i
  make_ca "${dir}"
  ca="${dir}/ca.pem"
  : >"${server_log}"
  "${python}" "${repo_server}" build "${dir}/repo"
  "${python}" "${repo_server}" serve --dir "${dir}/repo" --cert "${dir}/server.pem" --cert-key "${dir}/server.key" \
    --port-file "${dir}/port" --log "${server_log}" \
    --bearer-sha256 "${key_sha}" --bearer-sha256 "$(sha256_of "${user_token}")" \
    --basic-sha256 "${basic_sha}" --basic-sha256 "$(sha256_of "alice:${user_password}")" \
    </dev/null >"${dir}/server.out" 2>&1 &
  server_pid=$!
  for ((i = 0; i < 100; i++)); do
    if [[ -s "${dir}/port" ]]; then
      port="$(tr -d '[:space:]' <"${dir}/port")"
      return 0
    fi
    sleep 0.05
  done
  echo "not ok - the repository server did not start"
  cat "${dir}/server.out"
  return 1
}

# ---- one job ---------------------------------------------------------------------------------
#
# Inside a test: new_job NAME makes ${t} (everything the job and its clients write: HOME, caches,
# targets, logs; scanned for the key after the test) and ${job} (the job directory, removed when
# the test ends whatever happened, so the scan only finds what escaped it).

new_job() {
  t="${work}/$1"
  job="${t}/job"
  home="${t}/home"
  mkdir -p "${home}" "${t}/work" "${t}/tmp" "${t}/user"
  user_env=()
  job_setup_bin=""
  sampler=""
  leak_scan "${t}"
  trap job_exit EXIT
}

# job_exit: however the test ended, stop its sampler and run cleanup (a no-op if the test already
# did), so the scan reports what escaped cleanup, not the job files of a test that failed early.
job_exit() {
  if [[ -n "${sampler}" ]]; then
    kill "${sampler}" 2>/dev/null || true
    wait "${sampler}" 2>/dev/null || true
  fi
  if [[ -n "${job_setup_bin}" && -d "${job}" ]]; then
    job_env "${job_setup_bin}" cleanup --dir "${job}" >/dev/null 2>&1 || true
  fi
  rm -rf "${job}"
}

# job_env [NAME=VALUE]... COMMAND...: COMMAND (at most 5 minutes) with a clean environment: the
# job's HOME, caches and temp under ${t}, the test CA, the venv's tools on PATH, no pip config of this machine, and
# the variables the job had before setup (${user_env}: paths only, never a secret).
job_env() {
  timeout 300 env -i HOME="${home}" PATH="${venv}/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 TMPDIR="${t}/tmp" \
    XDG_CACHE_HOME="${t}/cache" XDG_CONFIG_HOME="${t}/config" XDG_DATA_HOME="${t}/data" \
    SSL_CERT_FILE="${ca}" PIP_CONFIG_FILE=/dev/null ${user_env[@]+"${user_env[@]}"} "$@"
}

# setup_job SETUP_BIN ARGS...: `SETUP_BIN setup` with the key on stdin, offline validation and
# the job directory ${job}; keeps a copy of env.sh as the later steps' environment (${t}/steps.env),
# which still points at the job's files after cleanup removed them.
setup_job() {
  local setup_bin="$1" rc=0
  shift
  job_setup_bin="${setup_bin}"
  job_env "${setup_bin}" setup --api-key-stdin --validate offline --ci none --no-sweep --dir "${job}" "$@" \
    <<<"${canary_key}" >"${t}/setup.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    sed 's/^/    | /' "${t}/setup.log"
    fail "setup exited ${rc}"
    return 1
  fi
  cp "${job}/env.sh" "${t}/steps.env"
}

cleanup_job() {
  local setup_bin="$1"
  job_env "${setup_bin}" cleanup --dir "${job}" >"${t}/cleanup.log" 2>&1 || fail "cleanup failed"
  check "the job directory holds no client file after cleanup" \
    test ! -e "${job}/rattler-auth.json" -a ! -e "${job}/netrc" -a ! -e "${job}/uv.toml"
}

# step LOG COMMAND...: COMMAND as a later step of the job (its environment loaded from
# ${t}/steps.env, in ${t}/work); output in ${t}/LOG; returns COMMAND's exit code.
step() {
  local log="${t}/$1"
  shift
  # shellcheck disable=SC2016  # expanded by the step's own shell
  (cd "${t}/work" && job_env bash -c '. "$1" && shift && exec "$@"' step "${t}/steps.env" "$@") >"${log}" 2>&1
}

# exported NAME: the value steps.env gives NAME (empty if none).
exported() {
  # shellcheck disable=SC2016  # expanded by the inner shell
  job_env bash -c '. "$1" && printf "%s" "${!2:-}"' exported "${t}/steps.env" "$1"
}

# mark: the number of lines in the server log now (to look only at what comes after).
mark() {
  wc -l <"${server_log}" | tr -d ' '
}

# requests FROM CLIENT HOST PATH SHA EXPECT [USER]: what CLIENT asked HOST under PATH since line
# FROM of the server log; EXPECT is `sent` (every request carried the credential SHA, the first
# one included), `refused` (got 401, never carried it) or `absent` (never carried it, perhaps no
# request at all). Prints each request (method, path, which credential, status) for the log.
requests() {
  local from="$1" client="$2" host="$3" path="$4" sha="$5" expect="$6" user="${7:-}"
  local -a args=("${server_log}" --skip "${from}" --client "${client}" --host "${host}" --path "${path}" --sha "${sha}" --expect "${expect}")
  [[ -z "${user}" ]] || args+=(--user "${user}")
  "${python}" "${repo_server}" check "${args[@]}" || fail "${client} -> ${host}${path}: expected the credential to be ${expect}"
}

# expect_no_key FILE: FILE holds no form of the key (says so without printing it).
expect_no_key() {
  assert_no_leak "$1" "${canary_key}" || fail "${1##*/} holds the key"
}

# expect_files DIR...: each DIR has at least one file.
expect_files() {
  local dir
  for dir in "$@"; do
    [[ -n "$(find "${dir}" -type f -print -quit 2>/dev/null)" ]] || fail "no file under ${dir##*/}"
  done
}

# expect_secret_file VAR NAME: the steps' environment exports VAR as the job's file NAME, mode 0600.
expect_secret_file() {
  local file mode
  file="$(exported "$1")"
  [[ "${file}" == "${job}/$2" ]] || fail "$1 is '${file}', expected ${job}/$2" || return 1
  mode="$(stat -c '%a' "${file}")"
  [[ "${mode}" == 600 ]] || fail "$2 has mode ${mode}, expected 600"
}

# ---- the clients -----------------------------------------------------------------------------

# rattler_install NAME CHANNEL: solves and installs probe-pkg with py-rattler's default client into
# a fresh prefix and cache.
rattler_install() {
  step "rattler-$1.log" python "${clients_dir}/rattler_install.py" "$2" "${t}/prefix-$1" "${t}/rattler-cache-$1"
}

# pip_install NAME [PIP ARGS]...: pip installs probe-wheel into a fresh target directory.
pip_install() {
  local name="$1"
  shift
  step "pip-${name}.log" python -m pip install --no-input --disable-pip-version-check --retries 0 --timeout 20 \
    --target "${t}/pip-${name}" "$@" probe-wheel
}

# uv_install NAME [PREFIX...]: uv installs probe-wheel into a fresh venv (each uv command run as
# `PREFIX... uv ...`, e.g. `env -u UV_CONFIG_FILE`).
uv_install() {
  local name="$1"
  shift
  step "uv-venv-${name}.log" "$@" uv venv --quiet --python "${venv}/bin/python" "${t}/uv-${name}" &&
    step "uv-${name}.log" "$@" uv pip install --python "${t}/uv-${name}" probe-wheel
}

# uv_refused_after_cleanup: after cleanup uv fails in the job's environment (its UV_CONFIG_FILE
# is gone) without sending the credential, and with the index given some other way the index
# refuses it: the credential left with the job's netrc.
uv_refused_after_cleanup() {
  local from
  from="$(mark)"
  if uv_install after; then fail "uv still installs after cleanup"; fi
  { cat "${t}/uv-venv-after.log" "${t}/uv-after.log" 2>/dev/null || true; } | sed 's/^/uv after cleanup: /'
  requests "${from}" uv localhost / "${basic_sha}" absent
  from="$(mark)"
  if uv_install after-by-index env -u UV_CONFIG_FILE UV_DEFAULT_INDEX="$(index_url localhost)"; then
    fail "uv still installs after cleanup with the index named in UV_DEFAULT_INDEX"
  fi
  requests "${from}" uv localhost / "${basic_sha}" refused
}

installed_wheel() {
  local dir="$1"
  grep -qF 'hello from probe-wheel' "${dir}/probe_wheel/__init__.py" 2>/dev/null ||
    fail "probe-wheel is not installed in ${dir##*/}"
}

show() {
  sed 's/^/    | /' "${t}/$1"
}

# conda_url HOST / index_url HOST: the loopback channel / wheel index under that host name.
conda_url() {
  echo "https://$1:${port}/conda"
}

index_url() {
  echo "https://$1:${port}/simple/"
}

# ---- file checks -----------------------------------------------------------------------------

# expect_rattler_file HOST...: RATTLER_AUTH_FILE is exported, 0600, and maps each HOST (no port) to
# {"BearerToken": KEY}; no key carries a port.
expect_rattler_file() {
  expect_secret_file RATTLER_AUTH_FILE rattler-auth.json || return 1
  EXPECT_KEY="${canary_key}" python3 - "${job}/rattler-auth.json" "$@" <<'EOF' || fail "rattler auth file content"
import json, os, sys
entries = json.load(open(sys.argv[1], encoding="utf-8"))
bad = [h for h in sys.argv[2:] if entries.get(h) != {"BearerToken": os.environ["EXPECT_KEY"]}]
ported = [h for h in entries if ":" in h]
print("rattler auth file hosts:", sorted(entries))
sys.exit(1 if bad or ported else 0)
EOF
}

# expect_netrc HOST: NETRC is exported, 0600, and gives HOST login __token__ with the key.
expect_netrc() {
  expect_secret_file NETRC netrc || return 1
  EXPECT_KEY="${canary_key}" python3 - "${job}/netrc" "$1" <<'EOF' || fail "netrc has no __token__ entry with the key for $1"
import netrc, os, sys
login, _, password = netrc.netrc(sys.argv[1]).authenticators(sys.argv[2]) or (None, None, None)
sys.exit(0 if login == "__token__" and password == os.environ["EXPECT_KEY"] else 1)
EOF
}

# expect_uv_config URL DEFAULT: UV_CONFIG_FILE names a uv.toml with one [[index]] `anaconda` at URL,
# default = DEFAULT, authenticate = "always", and no credential in it.
expect_uv_config() {
  local file
  file="$(exported UV_CONFIG_FILE)"
  [[ "${file}" == "${job}/uv.toml" ]] || fail "UV_CONFIG_FILE is '${file}', expected ${job}/uv.toml" || return 1
  python3 - "${file}" "$1" "$2" <<'EOF' || fail "uv.toml content"
import sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))
want = {"name": "anaconda", "url": sys.argv[2], "default": sys.argv[3] == "true", "authenticate": "always"}
indexes = config.get("index", [])
print("uv.toml indexes:", indexes)
sys.exit(0 if len(indexes) == 1 and all(indexes[0].get(k) == v for k, v in want.items())
         and "@" not in indexes[0]["url"] else 1)
EOF
  expect_no_key "${file}"
}

# ---- tests: the fixtures ---------------------------------------------------------------------

get_status() {
  PROBE_AUTHORIZATION="$2" SSL_CERT_FILE="${ca}" "${python}" "${repo_server}" get "$1"
}

test_fixture_server() {
  local channel index wrong
  channel="$(conda_url localhost)/noarch/repodata.json"
  index="$(index_url localhost)probe-wheel/"
  wrong="not-the-key"
  check "channel without credentials: 401" test "$(get_status "${channel}" "")" = 401
  check "channel with another key: 401" test "$(get_status "${channel}" "Bearer ${wrong}")" = 401
  check "channel with Basic: 401" test "$(get_status "${channel}" "Basic $(printf '__token__:%s' "${canary_key}" | base64 -w0)")" = 401
  check "channel with Bearer KEY: 200" test "$(get_status "${channel}" "Bearer ${canary_key}")" = 200
  check "index without credentials: 401" test "$(get_status "${index}" "")" = 401
  check "index with Bearer KEY: 401" test "$(get_status "${index}" "Bearer ${canary_key}")" = 401
  check "index with another user: 401" test "$(get_status "${index}" "Basic $(printf 'x:%s' "${canary_key}" | base64 -w0)")" = 401
  check "index with Basic __token__:KEY: 200" test "$(get_status "${index}" "Basic $(printf '__token__:%s' "${canary_key}" | base64 -w0)")" = 200
  check "anonymous public index: 200" test "$(get_status "https://127.0.0.1:${port}/public/simple/" "")" = 200
  # The server log records hashes only.
  expect_lines "${server_log}" "expect=\"sha\": \"${key_sha}\"" "expect=\"sha\": \"${basic_sha}\""
}

# client_round SETUP_BIN: pixi, pip and uv from one setup authenticate on their first request and
# install; after cleanup the same commands are refused.
client_round() {
  local setup_bin="$1" from
  setup_job "${setup_bin}" --clients pixi,pip,uv --channel "https://localhost:${port}/*" \
    --wheels-index "$(index_url localhost)"
  expect_rattler_file repo.anaconda.cloud repo.anaconda.com localhost
  expect_netrc localhost
  expect_uv_config "$(index_url localhost)" true
  from="$(mark)"
  rattler_install before "$(conda_url localhost)" || { show rattler-before.log && fail "rattler failed with the job's files"; }
  expect_in "${t}/rattler-before.log" "installed: hello from probe-pkg"
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" sent
  from="$(mark)"
  pip_install before || { show pip-before.log && fail "pip failed with the job's files"; }
  installed_wheel "${t}/pip-before"
  requests "${from}" pip localhost / "${basic_sha}" sent __token__
  from="$(mark)"
  uv_install before || { show uv-before.log && fail "uv failed with the job's files"; }
  installed_wheel "$(echo "${t}"/uv-before/lib/python3*/site-packages)"
  requests "${from}" uv localhost / "${basic_sha}" sent __token__

  # The clients did write caches and environments, so the runner's scan of ${t} has them to read.
  expect_files "${t}/rattler-cache-before" "${t}/prefix-before" "${t}/pip-before" "${t}/cache/uv" "${t}/uv-before"

  cleanup_job "${setup_bin}"
  from="$(mark)"
  if rattler_install after "$(conda_url localhost)"; then fail "rattler still installs after cleanup"; fi
  expect_in "${t}/rattler-after.log" "401 Unauthorized"
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" refused
  from="$(mark)"
  if pip_install after; then fail "pip still installs after cleanup"; fi
  requests "${from}" pip localhost / "${basic_sha}" refused
  uv_refused_after_cleanup
}

test_fixture_clients() {
  new_job fixture-clients
  client_round "${fake_setup}"
}

# A control for the first-request check: uv with the netrc but without `authenticate = "always"`
# still installs, yet its first request goes out without credentials (it reads netrc only after a
# 401), and the check must see that.
test_fixture_uv_first_request_control() {
  local from
  new_job fixture-uv-control
  setup_job "${fake_setup}" --clients uv --wheels-index "$(index_url localhost)"
  sed -i '/^authenticate = /d' "${job}/uv.toml"
  from="$(mark)"
  uv_install control || { show uv-control.log && fail "uv failed with netrc alone"; }
  if requests "${from}" uv localhost / "${basic_sha}" sent __token__ >"${t}/control.log" 2>&1; then
    fail "the first-request check passed for a first request without credentials"
  fi
  cat "${t}/control.log"
  expect_in "${t}/control.log" "the first: GET /simple/probe-wheel/ with none credentials , answered 401"
  cleanup_job "${fake_setup}"
}

# ---- tests: the binary -----------------------------------------------------------------------

test_all_clients() {
  new_job all-clients
  client_round "${bin}"
}

test_pixi_default_clients() {
  local from
  new_job pixi-default
  # No --clients: the default (conda,mamba,pixi) serves rattler clients.
  setup_job "${bin}" --channel "https://localhost:${port}/*"
  expect_rattler_file repo.anaconda.cloud repo.anaconda.com localhost
  check "pip/uv are opt-in: no NETRC, PIP_INDEX_URL or UV_CONFIG_FILE by default" \
    test -z "$(exported NETRC)$(exported PIP_INDEX_URL)$(exported PIP_EXTRA_INDEX_URL)$(exported UV_CONFIG_FILE)"
  from="$(mark)"
  rattler_install before "$(conda_url localhost)" || { show rattler-before.log && fail "rattler failed"; }
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" sent
  cleanup_job "${bin}"
  from="$(mark)"
  if rattler_install after "$(conda_url localhost)"; then fail "rattler still installs after cleanup"; fi
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" refused
}

test_pixi_channel_by_ip() {
  local from
  new_job pixi-ip
  setup_job "${bin}" --clients pixi --channel "https://127.0.0.1:${port}/*"
  expect_rattler_file repo.anaconda.cloud repo.anaconda.com 127.0.0.1
  from="$(mark)"
  rattler_install before "$(conda_url 127.0.0.1)" || { show rattler-before.log && fail "rattler failed"; }
  requests "${from}" py-rattler 127.0.0.1 /conda/ "${key_sha}" sent
  # A host that was not routed gets nothing.
  from="$(mark)"
  if rattler_install other "$(conda_url localhost)"; then fail "rattler authenticated to a host that was not routed"; fi
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" refused
  cleanup_job "${bin}"
}

test_pixi_keeps_user_auth_file() {
  local from user_file before
  new_job pixi-user-file
  user_file="${t}/user/rattler-auth.json"
  (umask 077 && printf '{"127.0.0.1": {"BearerToken": "%s"}}\n' "${user_token}" >"${user_file}")
  before="$(sha256sum <"${user_file}")"
  user_env=(RATTLER_AUTH_FILE="${user_file}")
  setup_job "${bin}" --clients pixi --channel "https://localhost:${port}/*"
  expect_rattler_file repo.anaconda.cloud repo.anaconda.com localhost
  from="$(mark)"
  rattler_install ours "$(conda_url localhost)" || { show rattler-ours.log && fail "rattler failed on the routed channel"; }
  requests "${from}" py-rattler localhost /conda/ "${key_sha}" sent
  from="$(mark)"
  rattler_install theirs "$(conda_url 127.0.0.1)" || { show rattler-theirs.log && fail "the job's own credentials stopped working"; }
  requests "${from}" py-rattler 127.0.0.1 /conda/ "$(sha256_of "${user_token}")" sent
  cleanup_job "${bin}"
  check "the job's own RATTLER_AUTH_FILE is unchanged" test "$(sha256sum <"${user_file}")" = "${before}"
  expect_no_key "${user_file}"
  # The next steps, with the job's own variable back, still reach their host.
  printf "export RATTLER_AUTH_FILE='%s'\n" "${user_file}" >"${t}/steps.env"
  from="$(mark)"
  rattler_install restored "$(conda_url 127.0.0.1)" || { show rattler-restored.log && fail "the job's own credentials broke after cleanup"; }
  requests "${from}" py-rattler 127.0.0.1 /conda/ "$(sha256_of "${user_token}")" sent
}

test_clients_from_env() {
  local from
  new_job clients-env
  user_env=(ANACONDA_CI_AUTH_CLIENTS=pip ANACONDA_CI_AUTH_WHEELS_INDEX="$(index_url localhost)")
  setup_job "${bin}"
  check "pip only: no RATTLER_AUTH_FILE or UV_CONFIG_FILE" test -z "$(exported RATTLER_AUTH_FILE)$(exported UV_CONFIG_FILE)"
  expect_netrc localhost
  check "PIP_INDEX_URL is the index, without credentials" test "$(exported PIP_INDEX_URL)" = "$(index_url localhost)"
  from="$(mark)"
  pip_install before || { show pip-before.log && fail "pip failed"; }
  installed_wheel "${t}/pip-before"
  requests "${from}" pip localhost / "${basic_sha}" sent __token__
  cleanup_job "${bin}"
  from="$(mark)"
  if pip_install after; then fail "pip still installs after cleanup"; fi
  requests "${from}" pip localhost / "${basic_sha}" refused
}

# pip_keeps_netrc WHERE: a netrc the job already had (WHERE: `home` for ~/.netrc, `env` for $NETRC)
# with an entry for another host keeps working through the job's NETRC, and is left unchanged.
pip_keeps_netrc() {
  local where="$1" user_netrc before from
  new_job "pip-netrc-${where}"
  if [[ "${where}" == home ]]; then
    user_netrc="${home}/.netrc"
  else
    user_netrc="${t}/user/netrc"
    user_env=(NETRC="${user_netrc}")
  fi
  (umask 077 && printf 'machine 127.0.0.1\n  login alice\n  password %s\n' "${user_password}" >"${user_netrc}")
  before="$(sha256sum <"${user_netrc}")"
  setup_job "${bin}" --clients pip --wheels-index "$(index_url localhost)"
  expect_netrc localhost
  from="$(mark)"
  pip_install ours || { show pip-ours.log && fail "pip failed on the wheels index"; }
  requests "${from}" pip localhost / "${basic_sha}" sent __token__
  from="$(mark)"
  pip_install theirs --index-url "$(index_url 127.0.0.1)" || { show pip-theirs.log && fail "the job's own netrc entry stopped working"; }
  requests "${from}" pip 127.0.0.1 / "$(sha256_of "alice:${user_password}")" sent alice
  cleanup_job "${bin}"
  check "the job's own netrc is unchanged" test "$(sha256sum <"${user_netrc}")" = "${before}"
  expect_no_key "${user_netrc}"
}

test_pip_keeps_home_netrc() {
  pip_keeps_netrc home
}

test_pip_keeps_env_netrc() {
  pip_keeps_netrc env
}

test_pip_extra_index() {
  local from
  new_job pip-extra
  setup_job "${bin}" --clients pip --wheels-index "$(index_url localhost)" --wheels-index-mode extra
  expect_netrc localhost
  check "extra mode: PIP_EXTRA_INDEX_URL is the index" test "$(exported PIP_EXTRA_INDEX_URL)" = "$(index_url localhost)"
  check "extra mode: PIP_INDEX_URL is left to the job" test -z "$(exported PIP_INDEX_URL)"
  from="$(mark)"
  # The job's primary index (anonymous, on another host) stands in for pypi.org.
  pip_install extra --index-url "https://127.0.0.1:${port}/public/simple/" || { show pip-extra.log && fail "pip failed"; }
  installed_wheel "${t}/pip-extra"
  requests "${from}" pip localhost / "${basic_sha}" sent __token__
  tail -n "+$((from + 1))" "${server_log}" | grep -F '"host": "127.0.0.1"' >"${t}/primary.log" || true
  expect_in "${t}/primary.log" '"path": "/public/simple'
  expect_not_in "${t}/primary.log" '"scheme": "basic"'
  expect_not_in "${t}/primary.log" '"scheme": "bearer"'
  cleanup_job "${bin}"
}

test_uv_primary() {
  local from
  new_job uv-primary
  setup_job "${bin}" --clients uv --wheels-index "$(index_url localhost)"
  expect_uv_config "$(index_url localhost)" true
  expect_netrc localhost
  check "uv only: PIP_INDEX_URL is not exported" test -z "$(exported PIP_INDEX_URL)$(exported PIP_EXTRA_INDEX_URL)"
  from="$(mark)"
  uv_install before || { show uv-before.log && fail "uv failed"; }
  requests "${from}" uv localhost / "${basic_sha}" sent __token__
  cleanup_job "${bin}"
  uv_refused_after_cleanup
}

test_uv_extra_index() {
  local from
  new_job uv-extra
  setup_job "${bin}" --clients uv --wheels-index "$(index_url localhost)" --wheels-index-mode extra
  expect_uv_config "$(index_url localhost)" false
  # The job's own default index (anonymous, on another host) stands in for pypi.org.
  user_env=(UV_DEFAULT_INDEX="https://127.0.0.1:${port}/public/simple/")
  from="$(mark)"
  uv_install extra || { show uv-extra.log && fail "uv failed"; }
  requests "${from}" uv localhost / "${basic_sha}" sent __token__
  cleanup_job "${bin}"
}

# The key is never on a command line: a sampler records the process list (every argv) while setup
# and all three clients run; the runner scans the samples.
test_no_key_in_process_list() {
  new_job argv
  (
    while :; do
      ps -eww -o pid=,args= >>"${t}/ps.log" 2>/dev/null || true
      sleep 0.02
    done
  ) &
  sampler=$!
  track_pid "${sampler}"
  setup_job "${bin}" --clients pixi,pip,uv --channel "https://localhost:${port}/*" --wheels-index "$(index_url localhost)"
  rattler_install argv "$(conda_url localhost)" || fail "rattler failed"
  pip_install argv || fail "pip failed"
  uv_install argv || fail "uv failed"
  cleanup_job "${bin}"
  job_exit
  # The samples cover the clients (pip runs longest), so the scan has something to look at.
  expect_in "${t}/ps.log" "pip install --no-input"
}

main() {
  if ! prerequisites; then
    echo "${suite}: 0 passed, 1 failed"
    return 1
  fi
  work="$(mktemp -d)"
  trap finish EXIT
  key_sha="$(sha256_of "${canary_key}")"
  basic_sha="$(sha256_of "__token__:${canary_key}")"
  mkdir -p "${work}/server"
  server_log="${work}/server/requests.log"
  # Every test's scan also covers the server's request log.
  runner_init "${work}" "${server_log}"
  # The Basic header's base64 of `__token__:KEY` is one more form of the key no file may hold.
  printf '%s\n' "$(printf '__token__:%s' "${canary_key}" | base64 -w0)" >>"${runner_dir}/forms"
  if ! start_server; then
    echo "${suite}: 0 passed, 1 failed"
    return 1
  fi

  run_test "fixtures: the loopback channel and index accept only the key, and log hashes" test_fixture_server
  run_test "fixtures: rattler, pip and uv authenticate with the stand-in's files, and fail without" test_fixture_clients
  run_test "fixtures: the first-request check sees uv's unauthenticated first try without authenticate=always" test_fixture_uv_first_request_control
  run_test "pixi, pip and uv from one setup: first request authenticated, refused after cleanup" test_all_clients
  run_test "pixi is a default client: RATTLER_AUTH_FILE for Anaconda's hosts and the extra channel" test_pixi_default_clients
  run_test "pixi: an extra channel by IP address; unrouted hosts get nothing" test_pixi_channel_by_ip
  run_test "pixi: the job's own RATTLER_AUTH_FILE keeps working and is left unchanged" test_pixi_keeps_user_auth_file
  run_test "pip: clients and index from ANACONDA_CI_AUTH_CLIENTS / _WHEELS_INDEX" test_clients_from_env
  run_test "pip: an existing ~/.netrc keeps working and is left unchanged" test_pip_keeps_home_netrc
  run_test "pip: an existing \$NETRC keeps working and is left unchanged" test_pip_keeps_env_netrc
  run_test "pip: extra-index mode leaves the primary index alone and sends it nothing" test_pip_extra_index
  run_test "uv: primary index, credentials on the first request, refused after cleanup" test_uv_primary
  run_test "uv: extra-index mode" test_uv_extra_index
  run_test "the key is on no command line while setup and the clients run" test_no_key_in_process_list
  runner_finish "${suite}"
}

main "$@"
