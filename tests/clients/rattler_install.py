"""Solves and installs `probe-pkg` from one conda channel with py-rattler, the networking stack pixi
and rattler-build use, taking credentials only from the environment (RATTLER_AUTH_FILE and the
other backends rattler's default client reads). Prints `installed: <the package's file>` or
`failed: <error>`; exits 1 on failure.

Usage: rattler_install.py CHANNEL_URL PREFIX CACHE_DIR
"""

import asyncio
import os
import sys

from rattler import Channel, Gateway, Platform, install, solve
from rattler.networking import Client


async def main(channel, prefix, cache):
    client = Client.default_client()
    gateway = Gateway(client=client, cache_dir=os.path.join(cache, "repodata"))
    records = await solve(sources=[Channel(channel)], specs=["probe-pkg"], gateway=gateway,
                          platforms=[Platform("linux-64"), Platform("noarch")])
    await install(records, target_prefix=prefix, client=client, cache_dir=os.path.join(cache, "pkgs"),
                  show_progress=False)
    with open(os.path.join(prefix, "share", "probe", "hello.txt"), encoding="utf-8") as f:
        print("installed:", f.read().strip())


if __name__ == "__main__":
    status = 0
    try:
        asyncio.run(main(*sys.argv[1:4]))
    except Exception as error:  # noqa: BLE001 (any failure is the answer)
        print("failed:", type(error).__name__, error)
        status = 1
    sys.stdout.flush()
    # Not sys.exit: py-rattler 0.28.0 can crash (SIGSEGV, or abort in PyGILState_Release) while the
    # interpreter finalizes its runtime, which would turn the result into a signal.
    os._exit(status)
