# shellcheck shell=sh
# Jenkins step helper, sourced (`. jenkins/anaconda-ci-auth-env.sh`) at the top of a later `sh`
# step: loads the CONDARC / ANACONDA_AUTH_* variables (and RATTLER_AUTH_FILE, NETRC, UV_CONFIG_FILE,
# ... of the selected clients) that anaconda-ci-auth-setup.sh wrote for this build. POSIX sh, because Jenkins runs `sh` steps with /bin/sh. Needs no credentials.
# Tracing (`sh -xe`) is paused while the file is read: in env mode its export line expands to the
# key, and outside withCredentials Jenkins masks nothing. It is turned back on afterwards.
# Sourced scripts cannot find their own path in POSIX sh, so set ANACONDA_CI_AUTH_JENKINS_DIR when
# the scripts are not in jenkins/ under the workspace.

case "$-" in
  *x*) anaconda_ci_auth_xtrace=1 ;;
  *) anaconda_ci_auth_xtrace=0 ;;
esac
{ set +x; } 2>/dev/null

# shellcheck source=SCRIPTDIR/anaconda-ci-auth-lib.sh
. "${ANACONDA_CI_AUTH_JENKINS_DIR:-${WORKSPACE:-.}/jenkins}/anaconda-ci-auth-lib.sh"

if anaconda_ci_auth_env_file="$(anaconda_ci_auth_dir)/env.sh" && [ -r "${anaconda_ci_auth_env_file}" ]; then
  # shellcheck source=/dev/null  # written by anaconda-ci-auth setup
  . "${anaconda_ci_auth_env_file}"
  anaconda_ci_auth_status=0
else
  echo "anaconda-ci-auth: error: no environment for this build at ${anaconda_ci_auth_env_file:-?}; run anaconda-ci-auth-setup.sh in an earlier step" >&2
  anaconda_ci_auth_status=1
fi
unset anaconda_ci_auth_env_file
if [ "${anaconda_ci_auth_xtrace}" = 1 ]; then
  unset anaconda_ci_auth_xtrace
  set -x
else
  unset anaconda_ci_auth_xtrace
fi
if [ "${anaconda_ci_auth_status}" != 0 ]; then
  unset anaconda_ci_auth_status
  false
fi
unset anaconda_ci_auth_status
