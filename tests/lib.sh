#!/usr/bin/env bash
# Shared settings for the test suites: where the binary, the venv and the npm tools are, and the
# canary key every suite checks for in captured output.
# shellcheck disable=SC2034  # variables are used by the suites that source this file

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
test_env="${root}/target/test-env"
venv="${test_env}/venv"
node_modules="${root}/tests/node/node_modules"
bin="${ANACONDA_CI_AUTH_BIN:-${root}/target/debug/anaconda-ci-auth}"
export PATH="${venv}/bin:${PATH}"

# make_jwt EXP SUB MARKER: a syntactically valid, unsigned Anaconda-style API key.
make_jwt() {
  python3 - "$@" <<'PY'
import base64, json, sys
exp, sub, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
b = lambda d: base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(b({"alg": "RS256", "kid": "default", "typ": "JWT"}) + "." + b({"exp": exp, "sub": sub, "canary": marker}) + "." + base64.urlsafe_b64encode(b"not-a-real-signature").rstrip(b"=").decode())
PY
}

# A key valid for a year, and one that expired, each carrying a unique canary marker.
canary_marker="CANARY$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
canary_key="$(make_jwt "$(($(date +%s) + 365 * 86400))" d04c356b-afd2-4b3e-80f2-403113e0974b "${canary_marker}")"
expired_key="$(make_jwt 1689088786 d04c356b-afd2-4b3e-80f2-403113e0974b "${canary_marker}")"

# leak_forms KEY: the key and the derived forms that must never appear in logs, one per line.
leak_forms() {
  python3 - "$1" <<'PY'
import base64, sys
k = sys.argv[1]
forms = {k, "Bearer " + k, base64.b64encode(k.encode()).decode(), base64.urlsafe_b64encode(k.encode()).decode().rstrip("=")}
payload = '{"domain":"anaconda.com","api_key":"%s","repo_tokens":[],"version":2}' % k
forms.add(base64.b64encode(payload.encode()).decode())
for f in sorted(forms):
    print(f)
PY
}

# assert_no_leak FILE KEY: fails if FILE contains the key or a derived form outside ::add-mask:: lines.
assert_no_leak() {
  local file="$1" key="$2" form filtered status=0
  filtered="$(mktemp)"
  # No pipe into `grep -q`: under pipefail its early exit would turn a found leak into "no leak".
  grep -av '^::add-mask::' "${file}" >"${filtered}" || true
  while IFS= read -r form; do
    if grep -aqF -- "${form}" "${filtered}"; then
      echo "LEAK: ${file} contains the key (or a derived form)" >&2
      status=1
      break
    fi
  done < <(leak_forms "${key}")
  rm -f "${filtered}"
  return "${status}"
}

# run_test NAME FUNCTION: runs one test function in a subshell with errexit on (outside any `if`,
# where bash would ignore it), with its output in ${work}/logs/<n>.log that is shown only on
# failure; counts it in `passed` or `failed` and prints how long it took. The suite sets `work`,
# `passed` and `failed`.
run_test() {
  local name="$1" fn="$2" log start rc=0
  log="${work:?}/logs/$((passed + failed + 1)).log"
  mkdir -p "${work}/logs"
  start="${SECONDS}"
  set +e
  (
    set -euo pipefail
    "${fn}"
  ) >"${log}" 2>&1
  rc=$?
  set -e
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "ok - ${name} ($((SECONDS - start))s)"
  else
    failed=$((failed + 1))
    echo "FAIL - ${name} ($((SECONDS - start))s)"
    sed 's/^/    | /' "${log}" | tail -n 60
  fi
}
