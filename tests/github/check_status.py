"""Run inside a test workflow: `anaconda-ci-auth status --json` (the file in argv[1]) names the
domain in argv[2], so the job's ANACONDA_AUTH_DOMAIN reached setup although the action's `domain`
input was left empty."""

import json
import sys


def main() -> None:
    path, domain = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        status = json.load(f)
    if status.get("domain") != domain:
        sys.exit(f"check-post: status names the domain {status.get('domain')!r}, expected {domain!r}")
    print("check-post: the job domain was kept")


if __name__ == "__main__":
    main()
