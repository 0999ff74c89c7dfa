#!/bin/sh
# shellcheck disable=SC2154,SC3067  # CI_* and input variables come from GitLab; `test -O` below
# anaconda-ci-auth's GitLab job hooks, as shell functions: the template's before_script and
# after_script each make one call. POSIX sh, as job images vary (tested with bash, dash and
# busybox sh); the installer run for download/source needs bash and curl. `test -O` is not POSIX,
# but dash, busybox, bash and ksh have it.
#
# The template cannot fetch this file at run time (with install-method `path` nothing is fetched),
# so scripts/package-gitlab-template.sh copies it into gitlab/templates/anaconda-ci-auth.yml;
# edit it here, run that script, and the GitLab suite checks that the two agree.
#
# before_script runs with shell tracing off (the template's guard around the call): it reads the
# key's variable and evaluates the job's environment. The functions' variables are prefixed
# `_aca_` and unset before they return; `exit` stops the job, as a failed before_script line would.
#   anaconda_ci_auth_before_script   anaconda_ci_auth_install, then anaconda_ci_auth_setup:
#     anaconda_ci_auth_install       obtain the binary, check its version, export ANACONDA_CI_AUTH_BIN
#     anaconda_ci_auth_setup         run `setup` with the key's variable, load the job's environment
#   anaconda_ci_auth_cleanup         after_script: run `cleanup` (a new shell, so it finds the job
#                                    directory by CI_JOB_ID), remove the installed binary

# The directory download/source install the binary into for this job (removed by cleanup).
anaconda_ci_auth_bin_dir() {
  _aca_base="${CI_PROJECT_DIR}.tmp"
  if [ ! -d "${_aca_base}" ]; then _aca_base="${TMPDIR:-/tmp}"; fi
  printf '%s\n' "${_aca_base}/anaconda-ci-auth.bin-${CI_JOB_ID}"
  unset _aca_base
}

anaconda_ci_auth_install() {
  _aca_method="${ANACONDA_CI_AUTH_INPUT_INSTALL_METHOD}"
  _aca_version="${ANACONDA_CI_AUTH_INPUT_VERSION}"
  _aca_bin_dir="$(anaconda_ci_auth_bin_dir)"
  if [ "${_aca_method}" = path ]; then
    _aca_bin="$(command -v anaconda-ci-auth)" || {
      echo "anaconda-ci-auth: error: install-method is \`path\` but anaconda-ci-auth is not on PATH" >&2
      echo "  help: put the binary in the job image, or use install-method \`download\`" >&2
      exit 1
    }
  else
    # Binaries of earlier jobs that timed out, in the project's own temporary directory.
    for _aca_old in "${CI_PROJECT_DIR}.tmp"/anaconda-ci-auth.bin-*; do
      if [ -d "${_aca_old}" ] && [ -O "${_aca_old}" ] && [ "${_aca_old}" != "${_aca_bin_dir}" ]; then rm -rf "${_aca_old}"; fi
    done
    if [ -e "${_aca_bin_dir}" ] && [ ! -O "${_aca_bin_dir}" ]; then
      echo "anaconda-ci-auth: error: ${_aca_bin_dir} exists and belongs to another user" >&2
      exit 1
    fi
    _aca_installer="${ANACONDA_CI_AUTH_INPUT_INSTALLER}"
    _aca_clone=""
    if [ -z "${_aca_installer}" ]; then
      # The release process commits checksums/v<version>.txt after tagging v<version> and then
      # moves the major tag to that commit, so the major tag is where the checksums are.
      _aca_ref="${ANACONDA_CI_AUTH_INPUT_REF:-v${_aca_version%%.*}}"
      _aca_clone="$(mktemp -d)"
      echo "anaconda-ci-auth: fetching the installer and checksums at ${_aca_ref} from ${ANACONDA_CI_AUTH_INPUT_REPOSITORY}"
      git -c advice.detachedHead=false clone --quiet --depth 1 --branch "${_aca_ref}" \
        "${ANACONDA_CI_AUTH_INPUT_REPOSITORY}" "${_aca_clone}/src" || {
        rm -rf "${_aca_clone}"
        echo "anaconda-ci-auth: error: could not clone ${_aca_ref} of ${ANACONDA_CI_AUTH_INPUT_REPOSITORY}" >&2
        echo "  help: the image needs git, and \`ref\` a tag or branch with checksums/v${_aca_version}.txt" >&2
        echo "  help: or use install-method \`path\`, or the \`installer\` input" >&2
        exit 1
      }
      _aca_installer="${_aca_clone}/src/scripts/install-binary.sh"
    fi
    case "${_aca_installer}" in
      /*) ;;
      *) _aca_installer="${CI_PROJECT_DIR}/${_aca_installer}" ;;
    esac
    _aca_rc=0
    _aca_bin="$(ANACONDA_CI_AUTH_INSTALL_DIR="${_aca_bin_dir}" bash "${_aca_installer}" "${_aca_method}" "${_aca_version}")" || _aca_rc=$?
    if [ -n "${_aca_clone}" ]; then rm -rf "${_aca_clone}"; fi
    if [ "${_aca_rc}" -ne 0 ]; then
      echo "anaconda-ci-auth: error: the installer failed (install-method ${_aca_method}, version ${_aca_version}); see above" >&2
      exit 1
    fi
  fi
  _aca_have="$("${_aca_bin}" --version 2>/dev/null)" || {
    echo "anaconda-ci-auth: error: ${_aca_bin} does not run in this image" >&2
    exit 1
  }
  if [ "${_aca_have}" != "anaconda-ci-auth ${_aca_version}" ]; then
    echo "anaconda-ci-auth: error: the \`version\` input is ${_aca_version} but ${_aca_bin} is \`${_aca_have}\`" >&2
    exit 1
  fi
  export ANACONDA_CI_AUTH_BIN="${_aca_bin}"
  unset _aca_method _aca_version _aca_bin_dir _aca_installer _aca_clone _aca_ref _aca_bin _aca_have _aca_old _aca_rc
}

anaconda_ci_auth_setup() {
  _aca_name="${ANACONDA_CI_AUTH_INPUT_KEY_VARIABLE}"
  case "${_aca_name}" in
    '' | [0-9]* | *[!A-Za-z0-9_]*)
      echo "anaconda-ci-auth: error: api-key-variable must be a variable name" >&2
      exit 2
      ;;
  esac
  # A File-type variable holds the path of a file with the key; a masked variable the key.
  _aca_key_file=""
  if eval "[ -n \"\${${_aca_name}:-}\" ] && [ -f \"\${${_aca_name}}\" ]"; then
    eval "_aca_key_file=\"\${${_aca_name}}\""
    set -- --api-key-file "${_aca_key_file}"
  else
    set -- --api-key-env "${_aca_name}"
  fi
  set -- "$@" --ci gitlab --mode "${ANACONDA_CI_AUTH_INPUT_MODE}"
  # Empty inputs pass nothing, so the job's ANACONDA_AUTH_DOMAIN and ANACONDA_CI_AUTH_* variables
  # still apply.
  if [ -n "${ANACONDA_CI_AUTH_INPUT_DOMAIN}" ]; then set -- "$@" --domain "${ANACONDA_CI_AUTH_INPUT_DOMAIN}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_VALIDATE}" ]; then set -- "$@" --validate "${ANACONDA_CI_AUTH_INPUT_VALIDATE}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_API_URL}" ]; then set -- "$@" --api-url "${ANACONDA_CI_AUTH_INPUT_API_URL}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_CHANNELS}" ]; then set -- "$@" --channel "${ANACONDA_CI_AUTH_INPUT_CHANNELS}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_MIN_VALIDITY}" ]; then set -- "$@" --min-validity "${ANACONDA_CI_AUTH_INPUT_MIN_VALIDITY}"; fi
  if [ "${ANACONDA_CI_AUTH_INPUT_REGISTER}" = true ]; then set -- "$@" --register; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_CLIENTS:-}" ]; then set -- "$@" --clients "${ANACONDA_CI_AUTH_INPUT_CLIENTS}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX:-}" ]; then set -- "$@" --wheels-index "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX}"; fi
  if [ -n "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX_MODE:-}" ]; then set -- "$@" --wheels-index-mode "${ANACONDA_CI_AUTH_INPUT_WHEELS_INDEX_MODE}"; fi
  if [ "${ANACONDA_CI_AUTH_INPUT_ACCEPT_TOS:-}" = true ]; then set -- "$@" --accept-tos; fi
  _aca_rc=0
  # A File-type ANACONDA_AUTH_API_KEY holds a path, which is no key: keep it from setup. An
  # explicit `accept-tos: "false"` wins over the job's ANACONDA_CI_AUTH_ACCEPT_TOS.
  _aca_env="$(
    if [ -n "${_aca_key_file}" ] && [ "${_aca_name}" = ANACONDA_AUTH_API_KEY ]; then unset ANACONDA_AUTH_API_KEY; fi
    if [ "${ANACONDA_CI_AUTH_INPUT_ACCEPT_TOS:-}" = false ]; then unset ANACONDA_CI_AUTH_ACCEPT_TOS; fi
    "${ANACONDA_CI_AUTH_BIN}" setup "$@" --print-env sh
  )" || _aca_rc=$?
  set --
  if [ "${_aca_rc}" -ne 0 ]; then
    echo "anaconda-ci-auth: error: setup failed with exit code ${_aca_rc} (see the message above); the job stops here" >&2
    exit "${_aca_rc}"
  fi
  eval "${_aca_env}"
  # In keyring mode the keyring is the source: anaconda-auth would prefer the variable (for a
  # File-type variable, a path it would take for the key).
  if [ "${ANACONDA_CI_AUTH_INPUT_MODE}" = keyring ] && [ "${_aca_name}" = ANACONDA_AUTH_API_KEY ]; then
    unset ANACONDA_AUTH_API_KEY
  fi
  unset _aca_env _aca_rc _aca_name _aca_key_file
}

anaconda_ci_auth_cleanup() {
  _aca_bin_dir="$(anaconda_ci_auth_bin_dir)"
  if [ "${ANACONDA_CI_AUTH_INPUT_INSTALL_METHOD}" = path ]; then
    _aca_bin="$(command -v anaconda-ci-auth)" || _aca_bin=""
  else
    _aca_bin="${_aca_bin_dir}/bin/anaconda-ci-auth"
  fi
  if [ -n "${_aca_bin}" ] && [ -x "${_aca_bin}" ]; then
    "${_aca_bin}" cleanup --ci gitlab || echo "anaconda-ci-auth: warning: cleanup failed" >&2
  else
    echo "anaconda-ci-auth: nothing to clean up (the binary was never installed)"
  fi
  if [ "${ANACONDA_CI_AUTH_INPUT_INSTALL_METHOD}" != path ] && [ -d "${_aca_bin_dir}" ] && [ -O "${_aca_bin_dir}" ]; then
    rm -rf "${_aca_bin_dir}"
  fi
  unset _aca_bin_dir _aca_bin
}

# before_script: install, then setup; the functions are not left in the job's shell.
anaconda_ci_auth_before_script() {
  anaconda_ci_auth_install
  anaconda_ci_auth_setup
  unset -f anaconda_ci_auth_bin_dir anaconda_ci_auth_install anaconda_ci_auth_setup \
    anaconda_ci_auth_cleanup anaconda_ci_auth_before_script
}
