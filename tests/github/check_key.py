"""Proves, with the real anaconda-auth library, that a later step of the job gets the key.

Usage: python check_key.py keyring|env|both   (the venv's python, given by the test suite)

Each check loads the key in a fresh interpreter with an empty HOME, so nothing but what the
action configured ($ANACONDA_AUTH_KEYRING_PATH, $ANACONDA_AUTH_API_KEY) can supply it, and compares
its SHA-256 with $CANARY_SHA256. Only hashes are compared; the key is never printed.
"""

import os
import subprocess
import sys
import tempfile

LOADER = r"""
import hashlib
from anaconda_auth.token import TokenInfo
info = TokenInfo.load("anaconda.com")
print(hashlib.sha256(info.api_key.encode()).hexdigest())
"""


def loaded_key_hash(drop):
    """The hash of the key anaconda-auth loads, with the variables in `drop` removed."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k not in drop and k != "PYTHON_KEYRING_BACKEND"}
        env["HOME"] = home
        env["USERPROFILE"] = home
        out = subprocess.run([sys.executable, "-c", LOADER], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"anaconda-auth could not load the key: {out.stderr.strip().splitlines()[-1:]}")
        return out.stdout.strip()


def check(source, drop):
    if loaded_key_hash(drop) != os.environ["CANARY_SHA256"]:
        sys.exit(f"anaconda-auth loaded a different key from the {source}")
    print(f"anaconda-auth loaded the job's key from the {source} (sha256 matches)")


def main():
    mode = sys.argv[1]
    keyring = os.environ.get("ANACONDA_AUTH_KEYRING_PATH", "")
    if mode in ("keyring", "both"):
        if not keyring or not os.path.isfile(keyring):
            sys.exit("ANACONDA_AUTH_KEYRING_PATH does not name the job keyring")
        check("job keyring", drop={"ANACONDA_AUTH_API_KEY"})
    if mode in ("env", "both"):
        if not os.environ.get("ANACONDA_AUTH_API_KEY"):
            sys.exit("ANACONDA_AUTH_API_KEY is not exported")
        check("environment", drop={"ANACONDA_AUTH_KEYRING_PATH"})
    if mode == "keyring" and "ANACONDA_AUTH_API_KEY" in os.environ:
        sys.exit("keyring mode must not export ANACONDA_AUTH_API_KEY")
    if mode == "env" and keyring:
        sys.exit("env mode must not export ANACONDA_AUTH_KEYRING_PATH")


if __name__ == "__main__":
    main()
