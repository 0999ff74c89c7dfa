#!/usr/bin/env bash
# Benchmarks of anaconda-ci-auth as whole processes (a script, never a test): builds the release
# binary, starts a fake Anaconda API on 127.0.0.1, and times with hyperfine, side by side,
# `setup --validate offline` with the default clients and with conda alone (and `cleanup`), online
# `setup`, the Python paths of anaconda-auth (TokenInfo.save(), BaseClient().account), curl doing
# the same GET, and a shell printf of the key
# into a 0600 file. Also peak memory (/usr/bin/time -v) and the release binary size. Writes the
# raw hyperfine JSON and a Markdown report (the figures of BENCHMARKS.md) to target/bench/.
# Usage: benches/run.sh   (BENCH_RUNS=N runs of each fast command, BENCH_SLOW_RUNS=N of each Python
# command, split over BENCH_ROUNDS rounds so that a change of machine load affects all commands alike)
# The key is a generated fake JWT, passed to every command by environment variable name.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/target/bench"
runs="${BENCH_RUNS:-400}"
slow_runs="${BENCH_SLOW_RUNS:-32}"
rounds="${BENCH_ROUNDS:-4}"
round=1
python="${root}/target/test-env/venv/bin/python"
bin="${root}/target/release/anaconda-ci-auth"
fake_api="${root}/tests/fixtures/fake_api.py"
work=""
shm=""
server_pids=()

stop() {
  local pid
  for pid in "${server_pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  [[ -n "${work}" ]] && rm -rf "${work}"
  [[ -n "${shm}" ]] && rm -rf "${shm}"
  return 0
}

# require_tools: hyperfine and GNU time from Debian, curl, the venv with anaconda-auth 0.15.3.
require_tools() {
  local missing=()
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  [[ -x /usr/bin/time ]] || missing+=(time)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [[ -x "${python}" ]] || "${root}/tests/bootstrap.sh"
}

build() {
  echo "bench: cargo build --release"
  (cd "${root}" && cargo build --release --locked --quiet)
}

# start_server IMPL VAR: starts the shared fake API (tests/fixtures/fake_api.py) with the server
# implementation IMPL (asyncio or stdlib), accepting only BENCH_KEY, and sets VAR to its base URL
# once it listens.
start_server() {
  local impl="$1" port_file="${work}/port-$1" i
  python3 "${fake_api}" serve --server "${impl}" --port-file "${port_file}" --key-sha256 "${BENCH_KEY_SHA256}" \
    </dev/null >/dev/null &
  server_pids+=("$!")
  for ((i = 0; i < 100; i++)); do
    [[ -s "${port_file}" ]] && break
    sleep 0.05
  done
  printf -v "$2" 'http://127.0.0.1:%s' "$(cat "${port_file}")"
}

# bench NAME RUNS ARGS...: one hyperfine run (no shell, warm-up, JSON export NAME-rROUND.json)
# over the given --command-name/--prepare/command arguments; RUNS is split over the rounds.
bench() {
  local name="$1" n="$2"
  shift 2
  n=$(((n + rounds - 1) / rounds))
  ((n >= 3)) || n=3
  echo "bench: ${name} (round ${round} of ${rounds})"
  hyperfine -N --style basic --warmup 3 --runs "${n}" --export-json "${out}/${name}-r${round}.json" "$@"
}

local_writes() {
  local job="${work}/job" py_keyring="${HOME}/.anaconda/keyring" extra=()
  # Diagnostics: the same setup and floor on tmpfs (no journal), and a shell doing the same
  # filesystem work as setup (a private directory and four small files).
  if [[ -n "${shm}" ]]; then
    extra=(-n "setup --validate offline (dir on tmpfs)" -p "rm -rf ${shm}/job"
      "${bin} setup --validate offline --api-key-env BENCH_KEY --ci none --dir ${shm}/job"
      -n "printf floor (tmpfs)" -p "rm -f ${shm}/floor"
      "sh -c 'umask 077; printf %s \"\${BENCH_KEY}\" > ${shm}/floor'")
  fi
  extra+=(-n "shell floor: mkdir + 4 files" -p "rm -rf ${work}/floor-dir"
    "sh -c 'umask 077; d=${work}/floor-dir; mkdir \"\${d}\"; for f in keyring condarc.yml env.sh state.json; do printf %s \"\${BENCH_KEY}\" > \"\${d}/\${f}\"; done'")
  bench local "${runs}" \
    -n "setup --validate offline" -p "rm -rf ${job}" \
    "${bin} setup --validate offline --api-key-env BENCH_KEY --ci none --dir ${job}" \
    -n "setup --validate offline --clients conda" -p "rm -rf ${job}" \
    "${bin} setup --validate offline --api-key-env BENCH_KEY --ci none --clients conda --dir ${job}" \
    -n "cleanup" -p "${bin} setup --validate offline --api-key-env BENCH_KEY --ci none --quiet --dir ${job}" \
    "${bin} cleanup --dir ${job}" \
    -n "printf floor" -p "rm -f ${work}/floor" \
    "sh -c 'umask 077; printf %s \"\${BENCH_KEY}\" > \"\${BENCH_FLOOR_FILE}\"'" \
    -n "anaconda-ci-auth --version" -p "true" "${bin} --version" \
    "${extra[@]}"
  bench python-save "${slow_runs}" \
    -n "python TokenInfo.save()" -p "rm -f ${py_keyring}" \
    "${python} -c \"import os; from anaconda_auth.token import TokenInfo; TokenInfo(api_key=os.environ['BENCH_KEY'], domain='anaconda.com').save()\""
}

online() {
  local url="$1" job="${work}/job-online"
  bench online "${runs}" \
    -n "setup (online)" -p "rm -rf ${job}" \
    "${bin} setup --api-url ${url} --api-key-env BENCH_KEY --ci none --dir ${job}" \
    -n "validate (online)" -p "true" \
    "${bin} validate --api-url ${url} --api-key-env BENCH_KEY --ci none" \
    -n "curl GET /api/account" -p "true" \
    "curl -fsS -o /dev/null -H @${work}/auth-header ${url}/api/account"
  bench python-account "${slow_runs}" \
    -n "python BaseClient().account" \
    "${python} -c \"import os; from anaconda_auth.client import BaseClient; BaseClient(base_uri='${url}', api_key=os.environ['BENCH_KEY']).account\""
}

# servers FAST SLOW: server-side latency of both fake API implementations (one warm client, 2000
# requests on fresh connections), then curl against each as whole processes.
servers() {
  local fast="$1" slow="$2"
  echo "bench: fake API servers"
  python3 "${fake_api}" probe "${fast}" 2000 --key-env BENCH_KEY >"${out}/server-asyncio.probe"
  python3 "${fake_api}" probe "${slow}" 2000 --key-env BENCH_KEY >"${out}/server-stdlib.probe"
  bench servers "$((runs / 2))" \
    -n "curl vs asyncio fake API" "curl -fsS -o /dev/null -H @${work}/auth-header ${fast}/api/account" \
    -n "curl vs http.server fake API" "curl -fsS -o /dev/null -H @${work}/auth-header ${slow}/api/account"
}

# max_rss NAME CMD...: the largest "Maximum resident set size" (KiB) over 5 runs, into rss.txt.
max_rss() {
  local name="$1" i kib best=0
  shift
  for ((i = 0; i < 5; i++)); do
    rm -rf "${work}/job-rss" "${HOME}/.anaconda/keyring"
    kib="$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')"
    ((kib > best)) && best="${kib}"
  done
  printf '%s\t%s\n' "${name}" "${best}" >>"${out}/rss.txt"
}

memory() {
  local url="$1"
  : >"${out}/rss.txt"
  max_rss "setup --validate offline" "${bin}" setup --validate offline --api-key-env BENCH_KEY --ci none \
    --quiet --dir "${work}/job-rss"
  max_rss "setup (online)" "${bin}" setup --api-url "${url}" --api-key-env BENCH_KEY --ci none --quiet \
    --dir "${work}/job-rss"
  max_rss "curl GET /api/account" curl -fsS -o /dev/null -H "@${work}/auth-header" "${url}/api/account"
  max_rss "python TokenInfo.save()" "${python}" -c \
    "import os; from anaconda_auth.token import TokenInfo; TokenInfo(api_key=os.environ['BENCH_KEY'], domain='anaconda.com').save()"
}

main() {
  require_tools
  build
  mkdir -p "${out}"
  rm -f "${out}"/*.json "${out}"/*.probe "${out}/rss.txt"
  work="$(mktemp -d)"
  trap stop EXIT
  if [[ -d /dev/shm && -w /dev/shm ]]; then shm="$(mktemp -d -p /dev/shm)"; fi
  export HOME="${work}/home" TMPDIR="${work}/tmp" BENCH_FLOOR_FILE="${work}/floor"
  mkdir -p "${HOME}" "${TMPDIR}"
  unset ANACONDA_AUTH_API_KEY GITHUB_ACTIONS GITLAB_CI BUILDKITE JENKINS_URL
  BENCH_KEY="$(python3 -c 'import base64, json, time
b = lambda d: base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(b({"alg": "RS256", "kid": "default", "typ": "JWT"}) + "." + b({"exp": int(time.time()) + 86400 * 365, "sub": "d04c356b-afd2-4b3e-80f2-403113e0974b"}) + ".bm90LWEtcmVhbC1zaWduYXR1cmU")')"
  export BENCH_KEY
  BENCH_KEY_SHA256="$(printf '%s' "${BENCH_KEY}" | sha256sum | cut -d' ' -f1)"
  (umask 077 && printf 'Authorization: Bearer %s\n' "${BENCH_KEY}" >"${work}/auth-header")
  local fast slow
  start_server asyncio fast
  start_server stdlib slow
  curl -fsS -o /dev/null -H "@${work}/auth-header" "${fast}/api/account"
  curl -fsS -o /dev/null -H "@${work}/auth-header" "${slow}/api/account"
  for ((round = 1; round <= rounds; round++)); do
    local_writes
    online "${fast}"
  done
  round=1
  servers "${fast}" "${slow}"
  memory "${fast}"
  python3 "${root}/benches/report.py" "${out}" "${bin}" "${python}" | tee "${out}/results.md"
}

main "$@"
