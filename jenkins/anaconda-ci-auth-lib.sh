# shellcheck shell=sh
# Shared by the anaconda-ci-auth Jenkins step scripts (POSIX sh, so it can be sourced from a plain
# `sh` step): where this build's job directory lives and which binary to run.
#
# Every Jenkins `sh` step is a new shell, so the steps agree on a fixed directory instead of passing
# variables: ${WORKSPACE_TMP} (Jenkins' "<workspace>@tmp", next to the credentials-binding plugin's
# secret files and outside the checkout), one directory per build keyed by BUILD_TAG.
# ANACONDA_CI_AUTH_DIR overrides it (give each parallel branch its own).

anaconda_ci_auth_bin() {
  printf '%s\n' "${ANACONDA_CI_AUTH_BIN:-anaconda-ci-auth}"
}

anaconda_ci_auth_dir() {
  if [ -n "${ANACONDA_CI_AUTH_DIR:-}" ]; then
    printf '%s\n' "${ANACONDA_CI_AUTH_DIR}"
    return 0
  fi
  if [ -z "${BUILD_TAG:-}" ] || [ -z "${WORKSPACE_TMP:-${WORKSPACE:-}}" ]; then
    echo "anaconda-ci-auth: error: BUILD_TAG and WORKSPACE are not set; run this in a Jenkins sh step (or set ANACONDA_CI_AUTH_DIR)" >&2
    return 1
  fi
  # BUILD_TAG is jenkins-<job name>-<build number>; the job name may hold spaces and other characters.
  printf '%s/anaconda-ci-auth-%s\n' "${WORKSPACE_TMP:-${WORKSPACE}@tmp}" \
    "$(printf '%s' "${BUILD_TAG}" | tr -c 'A-Za-z0-9._-' '_')"
}
