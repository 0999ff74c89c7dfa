"""Runs the anaconda-auth compatibility tests (tests/compat/test_*.py) and writes the counts.

Owns: discovery, per-test scratch directories, the ok/not ok lines and the summary file that
tests/suites/20-anaconda-auth.sh turns into its closing line.
Environment: COMPAT_BIN, COMPAT_PYTHON_NEW, COMPAT_PYTHON_OLD, COMPAT_CANARY_KEY (removed from this
process's environment at once), COMPAT_SUMMARY (file to write "passed failed" to), and optionally
COMPAT_FILTER (run only tests whose name contains it).
"""

import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import compat

MODULES = ("test_keyring", "test_merge", "test_env_condarc", "test_online", "test_other_paths")


def world_from_env(workdir):
    canary = os.environ.pop("COMPAT_CANARY_KEY")
    pythons = {"0.15.3": os.environ["COMPAT_PYTHON_NEW"], "0.14.2": os.environ["COMPAT_PYTHON_OLD"]}
    return compat.World(os.environ["COMPAT_BIN"], pythons, canary, workdir)


def run_case(world, name, func, params):
    t = compat.Case(world, name)
    start = time.monotonic()
    try:
        func(t, *params)
    except compat.Failure as failure:
        return False, str(failure)
    except Exception as error:  # noqa: BLE001 (any crash is a failed test, reported without the key)
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        world.assert_no_leak(name, detail)
        return False, f"{type(error).__name__}: {detail[-600:]}"
    finally:
        shutil.rmtree(t.tmp, ignore_errors=True)
    notes = "".join(f"\n    note: {n}" for n in t.notes)
    return True, f"{time.monotonic() - start:.1f}s{notes}"


def main():
    sys.path.insert(0, str(Path(__file__).parent))
    workdir = tempfile.mkdtemp(prefix="anaconda-auth-compat-")
    passed = failed = 0
    try:
        world = world_from_env(workdir)
        for module in MODULES:
            importlib.import_module(module)
        wanted = os.environ.get("COMPAT_FILTER", "")
        for name, func, params in compat.CASES:
            if wanted not in name:
                continue
            ok, detail = run_case(world, name, func, params)
            try:
                world.assert_no_leak("test report", detail)
            except compat.Failure as leak:
                ok, detail = False, str(leak)
            print(f"{'ok' if ok else 'not ok'} - {name}: {detail}", flush=True)
            passed, failed = passed + ok, failed + (not ok)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        Path(os.environ["COMPAT_SUMMARY"]).write_text(f"{passed} {failed}\n")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
