#!/usr/bin/env bash
# Helpers shared by the action's step scripts (install.sh, setup.sh, cleanup.sh): error output in
# GitHub's format and validation of the ANACONDA_CI_AUTH_INPUT_* variables action.yml maps.
# Sourced, never run. Bash 3.2 compatible (macOS runners may run /bin/bash).

# Never trace: these scripts run next to the key.
{ set +x; } 2>/dev/null

# die MESSAGE [HINT] [STATUS]: report an error as a GitHub annotation and on stderr, then exit.
die() {
  printf '::error title=anaconda-ci-auth::%s\n' "$1"
  printf 'error: %s\n' "$1" >&2
  if [[ -n "${2:-}" ]]; then
    printf '  help: %s\n' "$2" >&2
  fi
  exit "${3:-2}"
}

# A printable, one-line, shortened form of an input value for error messages (never the key).
shown() {
  printf '%s' "$1" | tr -cd 'A-Za-z0-9._:/@=*+-' | cut -c 1-80
}

# check_input NAME REGEX ALLOWED: the input in ANACONDA_CI_AUTH_INPUT_<NAME> must match REGEX.
check_input() {
  local name="$1" regex="$2" allowed="$3" var value
  var="ANACONDA_CI_AUTH_INPUT_${name}"
  value="${!var:-}"
  if [[ ! "${value}" =~ ${regex} ]]; then
    name="$(printf '%s' "${name}" | tr 'A-Z_' 'a-z-')"
    die "input \`${name}\` is \`$(shown "${value}")\`, expected ${allowed}"
  fi
}
