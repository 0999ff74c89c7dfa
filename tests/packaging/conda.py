"""Builds the conda package with py-rattler-build and installs it with py-rattler, offline.

Usage:
  conda.py build RECIPE OUTPUT_DIR          build RECIPE into the local channel OUTPUT_DIR (the
                                            recipe's own tests run too); prints the package path
  conda.py install CHANNEL_DIR PREFIX CACHE SPEC
                                            solve SPEC against the local channel only and install it
                                            into the new PREFIX, with a private package cache

Only local channels are used: the build resolves its (empty) environments against an empty local
channel instead of conda-forge, and the install solves against CHANNEL_DIR alone.
"""

import asyncio
import json
import pathlib
import sys


def build(recipe: str, output_dir: str) -> None:
    import rattler_build

    out = pathlib.Path(output_dir).resolve()
    # rattler-build needs some channel to resolve the (empty) build and test environments; an
    # empty local one keeps it off the network.
    empty = out.parent / (out.name + ".empty-channel")
    (empty / "noarch").mkdir(parents=True, exist_ok=True)
    (empty / "noarch" / "repodata.json").write_text(
        json.dumps({"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}, "repodata_version": 1})
    )
    rattler_build.build_recipes([recipe], output_dir=str(out), channel=[empty.as_uri()], no_build_id=True)
    built = sorted(p for p in out.glob("*/*.conda") if p.parent.name != "broken")
    if len(built) != 1:
        sys.exit(f"expected one package in {out}, found {[str(p) for p in built]}")
    print(built[0])


async def install(channel_dir: str, prefix: str, cache: str, spec: str) -> None:
    from rattler import Channel, Platform, install, solve

    channel = Channel(pathlib.Path(channel_dir).resolve().as_uri())
    records = await solve(
        sources=[channel], specs=[spec], platforms=[Platform.current(), Platform("noarch")]
    )
    if not records:
        sys.exit(f"nothing solved for {spec}")
    await install(records, target_prefix=prefix, cache_dir=pathlib.Path(cache), show_progress=False)
    for r in records:
        print(f"installed {r.name.normalized}={r.version}={r.build} from {r.channel}")


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "build":
        build(args[1], args[2])
    elif len(args) == 5 and args[0] == "install":
        asyncio.run(install(*args[1:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
