"""Builds the conda package with py-rattler-build and installs it with py-rattler, offline.

Usage:
  conda.py build RECIPE OUTPUT_DIR          build RECIPE into the local channel OUTPUT_DIR (the
                                            recipe's own tests run too); prints the package path
  conda.py install CHANNEL_DIR PREFIX CACHE SPEC
                                            solve SPEC against the local channel only and install it
                                            into the new PREFIX, with a private package cache
  conda.py render RECIPE                    render RECIPE (the conda-forge form, filled in) with
                                            conda-forge-like compiler variants; prints its package,
                                            source, build requirements and script as JSON
  conda.py create --yes --quiet --prefix PREFIX --override-channels --channel file:///DIR SPEC
                                            the same, called the way scripts/install-binary.sh calls
                                            conda, mamba or micromamba (the package cache is
                                            $CONDA_PKGS_DIRS); anything else is an error

Only local channels are used: the build resolves its (empty) environments against an empty local
channel instead of conda-forge, and the install solves against CHANNEL_DIR alone.
"""

import asyncio
import json
import os
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


def render(recipe: str) -> None:
    import rattler_build

    variants = rattler_build.VariantConfig(
        {
            "rust_compiler": ["rust"],
            "rust_compiler_version": ["1.89"],
            "c_compiler": ["gcc"],
            "c_compiler_version": ["14"],
            "c_stdlib": ["sysroot"],
            "c_stdlib_version": ["2.17"],
        }
    )
    rendered = rattler_build.Stage0Recipe.from_file(recipe).render(variants)
    if len(rendered) != 1:
        sys.exit(f"expected one rendered variant, got {len(rendered)}")
    d = rendered[0].recipe.to_dict()
    print(json.dumps({k: d[k] for k in ("package", "source")} | {
        "build_requirements": d["requirements"]["build"], "script": d["build"]["script"]}, indent=1))


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


def create(args: list) -> None:
    """`conda create` with exactly the options scripts/install-binary.sh passes, and nothing else."""
    import argparse

    p = argparse.ArgumentParser(prog="conda create", exit_on_error=False)
    p.add_argument("--yes", action="store_true", required=True)
    p.add_argument("--quiet", action="store_true", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--override-channels", action="store_true", required=True)
    p.add_argument("--channel", required=True)
    p.add_argument("spec")
    a = p.parse_args(args)
    if not a.channel.startswith("file:///"):
        sys.exit(f"conda create stand-in: only local file:/// channels, got {a.channel}")
    if os.path.exists(a.prefix):
        sys.exit(f"conda create stand-in: {a.prefix} exists")
    asyncio.run(install(a.channel[len("file://") :], a.prefix, os.environ["CONDA_PKGS_DIRS"], a.spec))


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "build":
        build(args[1], args[2])
    elif len(args) == 2 and args[0] == "render":
        render(args[1])
    elif len(args) == 5 and args[0] == "install":
        asyncio.run(install(*args[1:]))
    elif args and args[0] == "create":
        create(args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
    # py-rattler's background threads can crash the interpreter while it shuts down (a segfault or
    # "PyGILState_Release: thread state ... must be current", after the work is done and printed),
    # which would turn a finished install into a failure: leave without the interpreter teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
