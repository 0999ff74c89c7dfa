#!/usr/bin/env bash
# A stand-in for `anaconda-ci-auth setup/cleanup` that writes exactly the client files the real
# binary promises (RATTLER_AUTH_FILE, NETRC, PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, UV_CONFIG_FILE), so
# the clients suite can prove its own fixtures and the real clients work independently of the
# binary: the suite's fixture self-test runs it, every other test runs the binary. It is no
# implementation: no validation, no conda, no mamba, no state, no locking.
# Usage: fake-setup.sh setup --api-key-stdin --dir DIR [--clients LIST] [--channel 'https://HOST[:PORT]/*']...
#                            [--wheels-index URL] [--wheels-index-mode primary|extra] [ignored flags]
#        fake-setup.sh cleanup --dir DIR
set -euo pipefail

setup() {
  local dir="" clients="${ANACONDA_CI_AUTH_CLIENTS:-conda,mamba,pixi}" mode="primary" key host
  local index="${ANACONDA_CI_AUTH_WHEELS_INDEX:-https://repo.anaconda.cloud/repo/anaconda-wheels/simple}"
  local -a hosts=(repo.anaconda.cloud repo.anaconda.com)
  while (($#)); do
    case "$1" in
      --api-key-stdin) ;;
      --dir) dir="$2" && shift ;;
      --clients) clients="$2" && shift ;;
      --channel)
        host="${2#*://}" && host="${host%%/*}" && hosts+=("${host%%:*}")
        shift
        ;;
      --wheels-index) index="$2" && shift ;;
      --wheels-index-mode) mode="$2" && shift ;;
      --validate | --ci | --dir-mode) shift ;;
      *) ;;
    esac
    shift
  done
  [[ -n "${dir}" ]] || { echo "fake-setup: --dir is required" >&2 && return 2; }
  IFS= read -r key
  umask 077
  mkdir -p "${dir}"
  : >"${dir}/env.sh"
  if [[ ",${clients}," == *,pixi,* ]]; then
    # Python reads the key from its environment (not argv) and merges the job's own auth file.
    FAKE_SETUP_KEY="${key}" python3 - "${dir}/rattler-auth.json" "${hosts[@]}" <<'EOF'
import json, os, sys
out, hosts = sys.argv[1], sys.argv[2:]
entries = {}
if os.environ.get("RATTLER_AUTH_FILE") and os.path.isfile(os.environ["RATTLER_AUTH_FILE"]):
    with open(os.environ["RATTLER_AUTH_FILE"], encoding="utf-8") as f:
        entries = json.load(f)
for host in hosts:
    entries[host] = {"BearerToken": os.environ["FAKE_SETUP_KEY"]}
with open(out, "w", encoding="utf-8") as f:
    json.dump(entries, f)
EOF
    printf "export RATTLER_AUTH_FILE='%s'\n" "${dir}/rattler-auth.json" >>"${dir}/env.sh"
  fi
  if [[ ",${clients}," == *,pip,* || ",${clients}," == *,uv,* ]]; then
    host="${index#*://}" && host="${host%%/*}" && host="${host%%:*}"
    {
      printf 'machine %s login __token__ password %s\n' "${host}" "${key}"
      if [[ -n "${NETRC:-}" && -f "${NETRC}" ]]; then
        cat "${NETRC}"
      elif [[ -f "${HOME}/.netrc" ]]; then
        cat "${HOME}/.netrc"
      fi
    } >"${dir}/netrc"
    printf "export NETRC='%s'\n" "${dir}/netrc" >>"${dir}/env.sh"
  fi
  if [[ ",${clients}," == *,pip,* ]]; then
    if [[ "${mode}" == extra ]]; then
      printf "export PIP_EXTRA_INDEX_URL='%s'\n" "${index}" >>"${dir}/env.sh"
    else
      printf "export PIP_INDEX_URL='%s'\n" "${index}" >>"${dir}/env.sh"
    fi
  fi
  if [[ ",${clients}," == *,uv,* ]]; then
    printf '[[index]]\nname = "anaconda"\nurl = "%s"\ndefault = %s\nauthenticate = "always"\n' \
      "${index}" "$([[ "${mode}" == extra ]] && echo false || echo true)" >"${dir}/uv.toml"
    printf "export UV_CONFIG_FILE='%s'\n" "${dir}/uv.toml" >>"${dir}/env.sh"
  fi
}

case "${1:-}" in
  setup)
    shift
    setup "$@"
    ;;
  cleanup)
    [[ "${2:-}" == --dir && -n "${3:-}" ]] || { echo "usage: fake-setup.sh cleanup --dir DIR" >&2 && exit 2; }
    rm -rf -- "$3"
    ;;
  *)
    echo "usage: fake-setup.sh setup|cleanup ..." >&2
    exit 2
    ;;
esac
