#!/bin/sh
# A stand-in for conda inside the docker suite's test images (busybox sh). It answers the commands
# the example Dockerfiles run, decides which credential the real conda (through anaconda-auth
# 0.15.3) would get in that step, checks it against the expected SHA-256 baked into the test image,
# and records what it saw, never the key itself, in /opt/conda/fake-conda.log and in the env it
# creates. With no credential it carries on, like conda against a channel that does not need one:
# that is the "silently unauthenticated" build the examples must make impossible.
set -eu

expected_dir=/opt/conda/etc/fake-conda
log=/opt/conda/fake-conda.log
secret="${ANACONDA_SECRETS_DIR:-/run/secrets}/ANACONDA_AUTH_API_KEY"

die() {
  echo "fake conda: $*" >&2
  exit 1
}

sha() {
  sha256sum <"$1" | cut -d' ' -f1
}

# check_file PATH EXPECTED_FILE WHAT: the credential file must be exactly the expected one.
check_file() {
  [ "$(sha "$1")" = "$(cat "$2")" ] || die "$3 at $1 is not the expected credential"
}

# keyring_usable PATH: anaconda-auth's file backend is dropped unless PYTHON_KEYRING_BACKEND names it
# or the file can be opened for appending (AnacondaKeyring.viable); a read-only mount cannot.
keyring_usable() {
  [ "${PYTHON_KEYRING_BACKEND:-}" = "anaconda_auth.token.AnacondaKeyring" ] && return 0
  # (in a subshell: a failed redirection on `:` ends a POSIX shell)
  mkdir -p "$(dirname "$1")" 2>/dev/null && (: >>"$1") 2>/dev/null
}

# credentials: the sources anaconda-auth would read in this step, comma separated, or "none".
credentials() {
  found=""
  if [ -n "${ANACONDA_AUTH_API_KEY:-}" ]; then
    [ "$(printf '%s' "${ANACONDA_AUTH_API_KEY}" | sha256sum | cut -d' ' -f1)" = "$(cat "${expected_dir}/key.sha256")" ] ||
      die "ANACONDA_AUTH_API_KEY is not the expected key"
    found="${found},env"
  fi
  if [ -f "${secret}" ]; then
    check_file "${secret}" "${expected_dir}/key.sha256" "the secret file"
    found="${found},secret-file"
  fi
  keyring="${ANACONDA_AUTH_KEYRING_PATH:-${HOME:-/root}/.anaconda/keyring}"
  if keyring_usable "${keyring}"; then
    if [ -s "${keyring}" ]; then
      check_file "${keyring}" "${expected_dir}/keyring.sha256" "the keyring"
      found="${found},keyring"
    fi
  elif [ -s "${keyring}" ]; then
    found="${found},unusable-keyring"
  fi
  found="${found#,}"
  echo "${found:-none}"
}

# condarc_state: whether CONDARC points at a job file routing repo.anaconda.cloud to anaconda-auth.
condarc_state() {
  if [ -n "${CONDARC:-}" ] && [ -f "${CONDARC}" ] &&
    grep -q 'repo.anaconda.cloud' "${CONDARC}" && grep -q 'anaconda-auth' "${CONDARC}"; then
    echo "job"
  else
    echo "none"
  fi
}

# record WHAT: one log line describing this run, without any secret.
record() {
  creds="$(credentials)"
  line="$1 credentials=${creds} condarc=$(condarc_state) keyring_path=${ANACONDA_AUTH_KEYRING_PATH:-default}"
  mkdir -p /opt/conda/pkgs/cache
  echo "${line}" >>"${log}"
  echo "fake conda: ${line}"
  # Under anaconda-ci-auth exec, behave like a very verbose conda that prints its request headers:
  # exec must scrub this from the output before it reaches the build log.
  if [ -n "${ANACONDA_CI_AUTH_STATE:-}" ] && [ -f "${secret}" ]; then
    echo "fake conda: debug: Authorization: Bearer $(cat "${secret}")"
  fi
  # The package cache is tool state that must stay in the build stage.
  echo "{\"cached_by\": \"$1\"}" >/opt/conda/pkgs/cache/repodata.json
}

cmd_list() {
  if [ -f /opt/conda/conda-meta/anaconda-registration.json ]; then
    echo '[{"name": "anaconda-registration", "version": "0.0.0"}]'
  else
    echo '[]'
  fi
}

cmd_install() {
  case " $* " in
    *" --name base anaconda-registration "*) ;;
    *) die "unexpected install: $*" ;;
  esac
  record "install-anaconda-registration"
  mkdir -p /opt/conda/conda-meta
  echo '{"name": "anaconda-registration"}' >/opt/conda/conda-meta/anaconda-registration.json
}

cmd_env_create() {
  prefix=""
  file=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --prefix | -p) prefix="$2"; shift 2 ;;
      --file | -f) file="$2"; shift 2 ;;
      *) shift ;;
    esac
  done
  [ -n "${prefix}" ] && [ -f "${file}" ] || die "env create needs --prefix and an existing --file"
  grep -q 'repo.anaconda.cloud' "${file}" || die "${file} does not use an Anaconda channel"
  record "env-create"
  mkdir -p "${prefix}/bin" "${prefix}/conda-meta"
  printf '#!/bin/sh\necho "Python 3.12.0 (fake conda env)"\n' >"${prefix}/bin/python"
  chmod 0755 "${prefix}/bin/python"
  cp "${log}" "${prefix}/conda-meta/fake-conda.log"
}

main() {
  [ $# -ge 1 ] || die "no command"
  sub="$1"
  shift
  case "${sub}" in
    list) cmd_list "$@" ;;
    install) cmd_install "$@" ;;
    env)
      [ "${1:-}" = "create" ] || die "unsupported: env $*"
      shift
      cmd_env_create "$@"
      ;;
    clean) rm -rf /opt/conda/pkgs ;;
    --version) echo "conda 24.11.1 (fake)" ;;
    *) die "unsupported command: ${sub} $*" ;;
  esac
}

main "$@"
