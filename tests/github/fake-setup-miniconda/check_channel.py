"""Called by the fake conda with its `install` arguments: every `--channel URL` is routed to the
anaconda-auth plugin by a `channel_settings` entry of $CONDARC, matched as conda matches them
(same scheme, fnmatch on host and path)."""

import fnmatch
import os
import sys
from urllib.parse import urlsplit

import yaml


def routed(url, settings):
    target = urlsplit(url)
    for entry in settings:
        pattern = urlsplit(entry.get("channel", ""))
        if (
            pattern.scheme == target.scheme
            and fnmatch.fnmatch(target.netloc + target.path, pattern.netloc + pattern.path)
            and entry.get("auth") == "anaconda-auth"
        ):
            return True
    return False


def main():
    args = sys.argv[1:]
    channels = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--channel", "-c")]
    if not channels:
        sys.exit("fake-conda: no --channel to check")
    with open(os.environ["CONDARC"], encoding="utf-8") as f:
        settings = (yaml.safe_load(f) or {}).get("channel_settings", [])
    for url in channels:
        if not routed(url, settings):
            sys.exit(f"fake-conda: {url} is not routed to anaconda-auth by $CONDARC")
        print(f"fake-conda: {url} is routed to anaconda-auth")


if __name__ == "__main__":
    main()
