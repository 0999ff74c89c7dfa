#!/usr/bin/env bash
# Installs everything the test suites need on a fresh machine: Debian packages, a Python venv with
# the real anaconda-auth and the linters/runners, and the npm test tools. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_dir="${root}/target/test-env"
mkdir -p "${env_dir}"
# Several test runs may start at once; one installs, the others wait for it.
exec 9>"${env_dir}/.bootstrap.lock"
flock 9

apt_packages=(rsync curl docker.io containerd runc iptables busybox-static iproute2 util-linux mount passwd e2fsprogs hyperfine time openssl default-jre-headless)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "${p}" >/dev/null 2>&1 || missing+=("${p}")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="${env_dir}/venv"
stamp="${venv}/.requirements.sha256"
want="$(sha256sum "${root}/tests/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${want}" ]]; then
  echo "bootstrap: creating ${venv}"
  rm -rf "${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --disable-pip-version-check -r "${root}/tests/requirements.txt"
  echo "${want}" >"${stamp}"
fi

# The oldest anaconda-auth that honours ANACONDA_AUTH_KEYRING_PATH, for the compatibility test.
old_venv="${env_dir}/venv-anaconda-auth-0.14.2"
if [[ ! -x "${old_venv}/bin/python" ]] || ! "${old_venv}/bin/python" -c 'import anaconda_auth' 2>/dev/null; then
  echo "bootstrap: creating ${old_venv}"
  rm -rf "${old_venv}"
  python3 -m venv "${old_venv}"
  "${old_venv}/bin/pip" install -q --disable-pip-version-check "anaconda-auth==0.14.2"
fi

node_dir="${root}/tests/node"
lock_stamp="${node_dir}/node_modules/.package-lock.sha256"
want_lock="$(sha256sum "${node_dir}/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "${lock_stamp}" || "$(cat "${lock_stamp}")" != "${want_lock}" ]]; then
  echo "bootstrap: installing npm test tools"
  (cd "${node_dir}" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "${want_lock}" >"${lock_stamp}"
fi
echo "bootstrap: ready"
