#!/usr/bin/env bash
# Copies gitlab/scripts/job.sh (the GitLab job hooks as shell functions) into the template
# gitlab/templates/anaconda-ci-auth.yml, between its `# BEGIN gitlab/scripts/job.sh` and
# `# END gitlab/scripts/job.sh` lines, so that the two cannot drift apart.
#
# The copy is committed because GitLab reads a component's template straight from the repository
# at a tag, and a job can fetch nothing else: with install-method `path` it must work offline,
# without a clone of this repository. The GitLab suite fails when the committed template differs
# from what this script makes of it.
#
# Usage: scripts/package-gitlab-template.sh [--check]
#   --check   change nothing; exit 1 (with a diff) if the template is not up to date
set -euo pipefail

die() {
  echo "package-gitlab-template: error: $*" >&2
  exit 1
}

# render TEMPLATE SCRIPT: TEMPLATE with the lines between the markers replaced by SCRIPT (without
# its shebang), indented like the BEGIN line.
render() {
  python3 - "$1" "$2" <<'PY'
import re, sys
template, script = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
begin = re.search(r"^( *)# BEGIN gitlab/scripts/job\.sh.*\n", template, re.M)
end = re.search(r"^ *# END gitlab/scripts/job\.sh\n", template, re.M)
if not begin or not end or end.start() < begin.end():
    sys.exit("package-gitlab-template: error: the template lacks the BEGIN/END gitlab/scripts/job.sh lines")
indent = begin.group(1)
lines = script.splitlines()
if lines and lines[0].startswith("#!"):
    lines = lines[1:]
body = "".join((indent + line).rstrip() + "\n" for line in lines)
sys.stdout.write(template[:begin.end()] + body + template[end.start():])
PY
}

rendered=""

main() {
  local root template script
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  template="${root}/gitlab/templates/anaconda-ci-auth.yml"
  script="${root}/gitlab/scripts/job.sh"
  rendered="$(mktemp)"
  trap 'rm -f "${rendered}"' EXIT
  render "${template}" "${script}" >"${rendered}" || die "could not render ${template}"
  case "${1:-}" in
    --check)
      if ! diff -u "${template}" "${rendered}"; then
        echo "package-gitlab-template: ${template#"${root}/"} is not up to date with gitlab/scripts/job.sh;" \
          "run scripts/package-gitlab-template.sh" >&2
        exit 1
      fi
      ;;
    "")
      cat "${rendered}" >"${template}"
      ;;
    *) die "usage: scripts/package-gitlab-template.sh [--check]" ;;
  esac
}

main "$@"
