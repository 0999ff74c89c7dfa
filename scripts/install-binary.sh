#!/usr/bin/env bash
# Obtains the anaconda-ci-auth binary for a CI job and prints its absolute path. Shared by the
# GitHub Action and the GitLab, Buildkite and Jenkins integrations; owns nothing else.
#
# Usage: scripts/install-binary.sh METHOD [VERSION]
#
#   METHOD   download  Fetch the release asset for this OS and CPU, and check its SHA-256 against
#                      checksums/v<VERSION>.txt committed in this repository, before it is ever run.
#            pip       pip install anaconda-ci-auth==<VERSION> (a wheel, never a source build) into a
#                      private directory (pip --target), with the Python found on PATH.
#            conda     Create a private conda environment holding anaconda-ci-auth=<VERSION> from a
#                      channel (default conda-forge), with mamba, micromamba or conda.
#            source    Build it from this repository: cargo install --locked --path <repository>.
#            path      Use the `anaconda-ci-auth` already on PATH.
#   VERSION  X.Y.Z or vX.Y.Z. Empty or `auto` means the version in this repository's Cargo.toml,
#            which is the version this checkout of the integration was written for.
#
# Stdout: exactly one line, the absolute path of the binary. Everything else goes to stderr.
# Exit status: 0 when the binary is ready; 1 otherwise, with the reason on stderr (and as a
# `::error::` command on GitHub Actions). A downloaded file whose checksum does not match is
# deleted without being run.
#
# Environment (all optional):
#   ANACONDA_CI_AUTH_DOWNLOAD_BASE  Base URL under which the assets live as v<VERSION>/<asset>
#                                   (default: the project's GitHub releases). https:// only;
#                                   http:// is accepted for a loopback host (tests, local mirrors).
#   ANACONDA_CI_AUTH_INSTALL_DIR    Where `download`, `source`, `pip` and `conda` put the binary
#                                   (default: $RUNNER_TEMP/anaconda-ci-auth.bin on GitHub Actions,
#                                   otherwise a new private directory under $TMPDIR).
#   ANACONDA_CI_AUTH_PIP_INDEX_URL  `pip`: the package index to install from instead of pip's own
#                                   configuration (PyPI unless PIP_INDEX_URL or pip.conf say
#                                   otherwise). https:// only; http:// for a loopback host.
#   ANACONDA_CI_AUTH_PYTHON         `pip`: the Python to run pip with (default python3, python).
#   ANACONDA_CI_AUTH_CONDA_CHANNEL  `conda`: the channel name or URL (default conda-forge):
#                                   https://, file:/// (a local channel), or http:// to loopback.
#   ANACONDA_CI_AUTH_CONDA          `conda`: the installer to run (default the first of mamba,
#                                   micromamba and conda on PATH, or $MAMBA_EXE / $CONDA_EXE).
#   ANACONDA_CI_AUTH_TARGET         Asset target triple, instead of detecting it (see below).
#   CARGO_TARGET_DIR                Honoured by `source`, to reuse an earlier build.
#
# Release assets are plain executables named anaconda-ci-auth-<VERSION>-<target>[.exe], where
# <target> is x86_64-unknown-linux-musl, aarch64-unknown-linux-musl, x86_64-apple-darwin,
# aarch64-apple-darwin or x86_64-pc-windows-msvc (.exe). checksums/v<VERSION>.txt lists them in
# sha256sum format. .github/workflows/release.yml builds and publishes exactly these names and
# commits that file in the commit it tags, so every release tag verifies its own assets.
# `pip` and `conda` rely on the index's or channel's own integrity (TLS, per-file hashes in its
# metadata) instead; the same files are listed in that checksums file and carry GitHub build
# provenance attestations (`gh attestation verify FILE --repo anaconda-ci-auth/anaconda-ci-auth`).
set -euo pipefail
# Let failures inside $(...) stop the script too (bash 4.4+; every $(...) below also checks).
shopt -s inherit_errexit 2>/dev/null || true

readonly default_base="https://github.com/anaconda-ci-auth/anaconda-ci-auth/releases/download"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root

log() { printf 'install-binary: %s\n' "$*" >&2; }

die() {
  if [[ "${GITHUB_ACTIONS:-}" == "true" ]]; then
    printf '::error title=anaconda-ci-auth::%s\n' "$1" >&2
  fi
  printf 'install-binary: error: %s\n' "$1" >&2
  if [[ -n "${2:-}" ]]; then
    printf '  help: %s\n' "$2" >&2
  fi
  exit 1
}

# The version this checkout belongs to: the package version in Cargo.toml.
repo_version() {
  sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "${repo_root}/Cargo.toml" | head -n 1
}

resolve_version() {
  local v="${1#v}"
  if [[ -z "${v}" || "${v}" == "auto" ]]; then
    v="$(repo_version)" || exit 1
  fi
  if [[ ! "${v}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
    die "\`${1}\` is not a version like 1.2.3" "pass a release version such as 0.1.0, or leave it empty for the version of this checkout"
  fi
  printf '%s\n' "${v}"
}

# The release target triple for this machine.
detect_target() {
  if [[ -n "${ANACONDA_CI_AUTH_TARGET:-}" ]]; then
    printf '%s\n' "${ANACONDA_CI_AUTH_TARGET}"
    return
  fi
  local os arch
  os="${RUNNER_OS:-$(uname -s)}" || exit 1
  arch="${RUNNER_ARCH:-$(uname -m)}"
  case "${os}" in
    Linux | linux) os=linux ;;
    macOS | Darwin) os=macos ;;
    Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) die "no release binary for the operating system \`${os}\`" "use install method \`source\` (needs cargo) or \`path\`" ;;
  esac
  case "${arch}" in
    X64 | x86_64 | amd64) arch=x86_64 ;;
    ARM64 | aarch64 | arm64) arch=aarch64 ;;
    *) die "no release binary for the CPU \`${arch}\`" "use install method \`source\` (needs cargo) or \`path\`" ;;
  esac
  case "${os}-${arch}" in
    linux-x86_64) echo x86_64-unknown-linux-musl ;;
    linux-aarch64) echo aarch64-unknown-linux-musl ;;
    macos-x86_64) echo x86_64-apple-darwin ;;
    macos-aarch64) echo aarch64-apple-darwin ;;
    windows-x86_64) echo x86_64-pc-windows-msvc ;;
    *) die "no release binary for ${os} on ${arch}" "use install method \`source\` (needs cargo) or \`path\`" ;;
  esac
}

exe_suffix() {
  case "$1" in
    *-windows-*) echo .exe ;;
    *) echo "" ;;
  esac
}

# A directory we own for the binary: the given one, $RUNNER_TEMP's, or a fresh private one.
install_dir() {
  local dir
  if [[ -n "${ANACONDA_CI_AUTH_INSTALL_DIR:-}" ]]; then
    dir="${ANACONDA_CI_AUTH_INSTALL_DIR}"
  elif [[ -n "${RUNNER_TEMP:-}" ]]; then
    dir="${RUNNER_TEMP}/anaconda-ci-auth.bin"
  else
    dir="$(mktemp -d "${TMPDIR:-/tmp}/anaconda-ci-auth.bin.XXXXXXXX")" || exit 1
  fi
  if command -v cygpath >/dev/null 2>&1; then
    dir="$(cygpath -u "${dir}")" || exit 1
  fi
  (umask 077 && mkdir -p "${dir}/bin") || die "cannot create \`${dir}/bin\`"
  # A directory another user created first (a predictable name under a shared /tmp) would let
  # them replace the binary between its check and its use. (Not on Windows, where files of an
  # administrator can belong to the Administrators group.)
  if ! command -v cygpath >/dev/null 2>&1 && { [[ ! -O "${dir}" ]] || [[ ! -O "${dir}/bin" ]]; }; then
    die "\`${dir}\` belongs to another user" "remove it, or set ANACONDA_CI_AUTH_INSTALL_DIR to a directory of your own"
  fi
  printf '%s\n' "$(cd "${dir}" && pwd)"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    die "neither sha256sum nor shasum is available to verify the download" "install coreutils (sha256sum) or perl (shasum)"
  fi
}

# The expected SHA-256 of an asset, from the checksums file committed in this repository.
expected_sha256() {
  local version="$1" asset="$2" file hash
  file="${repo_root}/checksums/v${version}.txt"
  if [[ ! -f "${file}" ]]; then
    die "this checkout has no checksums for version ${version} (checksums/v${version}.txt), so a download cannot be verified" \
      "use a ref of the integration that lists v${version} in checksums/, pick a version that has a checksums file, or use install method \`source\`"
  fi
  hash="$(awk -v a="${asset}" '$2 == a || $2 == "*" a { print $1 }' "${file}")"
  if [[ ! "${hash}" =~ ^[0-9a-fA-F]{64}$ ]]; then
    die "checksums/v${version}.txt has no single SHA-256 for \`${asset}\`" "the release may not publish a binary for this platform; use install method \`source\`"
  fi
  printf '%s\n' "${hash}" | tr 'A-F' 'a-f'
}

# check_url VARIABLE URL: refuses anything but https (and http to a loopback host).
check_url() {
  local name="$1" url="$2"
  if [[ "${url}" =~ ^https:// ]]; then
    :
  elif [[ "${url}" =~ ^http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?(/|$) ]]; then
    log "using plain http to the loopback address in ${name}"
  else
    die "refusing to install from \`${url}\`: only https:// (or http:// to a loopback address) is allowed" \
      "set ${name} to an https:// mirror"
  fi
}

# The base URL of the release assets.
download_base() {
  local base="${ANACONDA_CI_AUTH_DOWNLOAD_BASE:-${default_base}}"
  base="${base%/}"
  check_url ANACONDA_CI_AUTH_DOWNLOAD_BASE "${base}"
  printf '%s\n' "${base}"
}

fetch() {
  local url="$1" out="$2" proto='=https'
  if [[ "${url}" == http://* ]]; then
    proto='=http'
  fi
  # --proto-redir too: curl would otherwise follow a redirect from https to plain http.
  curl --proto "${proto}" --proto-redir "${proto}" --tlsv1.2 -fsSL --retry 5 --retry-delay 2 --connect-timeout 30 --max-time 600 \
    -o "${out}" "${url}"
}

install_download() {
  local version="$1" target suffix asset expected dir base tmp actual
  target="$(detect_target)" || exit 1
  suffix="$(exe_suffix "${target}")" || exit 1
  asset="anaconda-ci-auth-${version}-${target}${suffix}"
  expected="$(expected_sha256 "${version}" "${asset}")" || exit 1
  dir="$(install_dir)" || exit 1
  bin="${dir}/bin/anaconda-ci-auth${suffix}"

  if [[ -f "${bin}" ]] && [[ "$(sha256_of "${bin}")" == "${expected}" ]]; then
    log "reusing the verified ${asset} in ${dir}/bin"
    return
  fi
  base="$(download_base)" || exit 1
  command -v curl >/dev/null 2>&1 || die "curl is needed to download the binary" "install curl, or use install method \`source\` or \`path\`"
  tmp="$(mktemp "${dir}/bin/.download.XXXXXXXX")" || exit 1
  log "downloading ${base}/v${version}/${asset}"
  if ! fetch "${base}/v${version}/${asset}" "${tmp}"; then
    rm -f "${tmp}"
    die "could not download ${base}/v${version}/${asset}" "check that release v${version} exists and the runner can reach it; ANACONDA_CI_AUTH_DOWNLOAD_BASE points at a mirror"
  fi
  actual="$(sha256_of "${tmp}")" || exit 1
  if [[ "${actual}" != "${expected}" ]]; then
    rm -f "${tmp}"
    die "checksum mismatch for ${asset}: expected sha256 ${expected}, got ${actual}; the download was deleted and not run" \
      "the release asset or the mirror does not match checksums/v${version}.txt in this repository; do not bypass this check"
  fi
  chmod 0755 "${tmp}"
  mv -f "${tmp}" "${bin}"
  log "verified ${asset} (sha256 ${actual})"
}

install_source() {
  local version="$1" want dir
  want="$(repo_version)" || exit 1
  if [[ "${version}" != "${want}" ]]; then
    log "warning: building the source in this checkout (${want}), not ${version}"
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to build from source" "install a Rust toolchain (https://rustup.rs) or use install method \`download\`"
  dir="$(install_dir)" || exit 1
  log "building anaconda-ci-auth ${want} from ${repo_root} into ${dir}/bin"
  # cargo's progress goes to stderr; keep stdout for the path alone.
  cargo install --locked --force --quiet --path "${repo_root}" --root "${dir}" >&2 ||
    die "cargo install failed" "see the compiler output above"
  bin="${dir}/bin/anaconda-ci-auth"
  if [[ -f "${bin}.exe" ]]; then
    bin="${bin}.exe"
  fi
  [[ -x "${bin}" ]] || die "cargo install did not produce ${bin}"
}

# find_exe DIR NAME: the executable NAME under DIR's bin/ or Scripts/ (Windows layouts), if any.
find_exe() {
  local d
  for d in bin Scripts Library/bin; do
    if [[ -f "$1/${d}/$2.exe" ]]; then
      printf '%s\n' "$1/${d}/$2.exe"
      return
    elif [[ -x "$1/${d}/$2" ]]; then
      printf '%s\n' "$1/${d}/$2"
      return
    fi
  done
  return 1
}

install_pip() {
  local version="$1" python dir target index=()
  python="${ANACONDA_CI_AUTH_PYTHON:-}"
  if [[ -z "${python}" ]]; then
    python="$(command -v python3 2>/dev/null || command -v python 2>/dev/null)" ||
      die "install method \`pip\` needs Python with pip, and neither python3 nor python is on PATH" \
        "use an image with Python, set ANACONDA_CI_AUTH_PYTHON, or use install method \`download\`"
  fi
  "${python}" -m pip --version >/dev/null 2>&1 ||
    die "\`${python} -m pip\` does not work" "install pip (e.g. the python3-pip package), or use install method \`download\`"
  if [[ -n "${ANACONDA_CI_AUTH_PIP_INDEX_URL:-}" ]]; then
    check_url ANACONDA_CI_AUTH_PIP_INDEX_URL "${ANACONDA_CI_AUTH_PIP_INDEX_URL}"
    index=(--index-url "${ANACONDA_CI_AUTH_PIP_INDEX_URL}")
  fi
  dir="$(install_dir)" || exit 1
  # A fresh target: pip --target does not replace what an earlier run put there.
  target="${dir}/pip"
  rm -rf -- "${target}"
  log "pip install anaconda-ci-auth==${version} into ${target}"
  # Wheels only: an sdist would need a Rust toolchain and minutes of compiling.
  PIP_ROOT_USER_ACTION=ignore "${python}" -m pip install --disable-pip-version-check --no-input --quiet --no-cache-dir \
    --only-binary :all: --no-deps --target "${target}" ${index[@]+"${index[@]}"} "anaconda-ci-auth==${version}" >&2 ||
    die "pip could not install anaconda-ci-auth==${version}" \
      "check that the release has a wheel for this platform and that the index is reachable (ANACONDA_CI_AUTH_PIP_INDEX_URL or pip's own configuration); or use install method \`download\`"
  bin="$(find_exe "${target}" anaconda-ci-auth)" || die "the wheel did not install an anaconda-ci-auth executable under ${target}"
}

# The conda-compatible installer to run: mamba, micromamba or conda.
conda_tool() {
  local t
  if [[ -n "${ANACONDA_CI_AUTH_CONDA:-}" ]]; then
    printf '%s\n' "${ANACONDA_CI_AUTH_CONDA}"
    return
  fi
  for t in mamba micromamba conda "${MAMBA_EXE:-}" "${CONDA_EXE:-}"; do
    if [[ -n "${t}" ]] && command -v "${t}" >/dev/null 2>&1; then
      command -v "${t}"
      return
    fi
  done
  die "install method \`conda\` needs mamba, micromamba or conda on PATH" \
    "set ANACONDA_CI_AUTH_CONDA to one, or use install method \`pip\` or \`download\`"
}

install_conda() {
  local version="$1" tool channel dir prefix
  tool="$(conda_tool)" || exit 1
  channel="${ANACONDA_CI_AUTH_CONDA_CHANNEL:-conda-forge}"
  if [[ "${channel}" == file:///* ]]; then
    : # a local channel
  elif [[ "${channel}" == *://* ]]; then
    check_url ANACONDA_CI_AUTH_CONDA_CHANNEL "${channel}"
  elif [[ ! "${channel}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    die "\`${channel}\` is not a channel name or URL" "set ANACONDA_CI_AUTH_CONDA_CHANNEL to a name like conda-forge or an https:// URL"
  fi
  dir="$(install_dir)" || exit 1
  prefix="${dir}/conda"
  rm -rf -- "${prefix}"
  log "${tool} create --prefix ${prefix} anaconda-ci-auth=${version} from ${channel}"
  # A private environment, so the job's own environments are not touched; the channel alone, so
  # the package cannot come from another channel that happens to have the name.
  "${tool}" create --yes --quiet --prefix "${prefix}" --override-channels --channel "${channel}" \
    "anaconda-ci-auth=${version}" >&2 ||
    die "${tool} could not install anaconda-ci-auth=${version} from ${channel}" \
      "check that the package is published there (ANACONDA_CI_AUTH_CONDA_CHANNEL names another channel), or use install method \`pip\` or \`download\`"
  bin="$(find_exe "${prefix}" anaconda-ci-auth)" || die "the conda package did not install an anaconda-ci-auth executable under ${prefix}"
}

install_path() {
  bin="$(command -v anaconda-ci-auth 2>/dev/null)" ||
    die "anaconda-ci-auth is not on PATH" "install it first, or use install method \`download\` or \`source\`"
  case "${bin}" in
    /*) ;;
    *) bin="$(cd "$(dirname "${bin}")" && pwd)/$(basename "${bin}")" || exit 1 ;;
  esac
}

# The binary's path, set by the install_* function that ran.
bin=""

main() {
  if (($# < 1 || $# > 2)); then
    die "usage: install-binary.sh download|pip|conda|source|path [VERSION]"
  fi
  local method="$1" version
  version="$(resolve_version "${2:-}")" || exit 1
  case "${method}" in
    download) install_download "${version}" ;;
    pip) install_pip "${version}" ;;
    conda) install_conda "${version}" ;;
    source) install_source "${version}" ;;
    path) install_path ;;
    *) die "unknown install method \`${method}\`" "use download, pip, conda, source or path" ;;
  esac
  # A last check that the binary runs on this machine; never reached for a rejected download.
  "${bin}" --version >&2 || die "\`${bin}\` does not run on this machine" "check the runner's OS and CPU, or use install method \`source\`"
  printf '%s\n' "${bin}"
}

main "$@"
