"""Runs inside a GitLab job: does the real anaconda-auth library get the expected key?

Compares SHA-256 digests only (the key is never printed): the Authorization header a
BaseClient builds, and in keyring mode the key TokenInfo.load() reads from the keyring that
ANACONDA_AUTH_KEYRING_PATH points at. Usage: key_probe.py keyring|env EXPECTED_SHA256
Exit 0 and one `probe:` line when every check holds, 1 otherwise.
"""

import hashlib
import os
import sys

import requests
from anaconda_auth.client import BaseClient
from anaconda_auth.token import TokenInfo


def sha(value):
    return hashlib.sha256(value.encode()).hexdigest()


def main():
    mode, expected = sys.argv[1], sys.argv[2]
    problems = []
    client = BaseClient(base_uri="http://127.0.0.1:9")
    header = client.prepare_request(requests.Request("GET", "/api/account")).headers.get("Authorization", "")
    if not header.startswith("Bearer ") or sha(header[len("Bearer "):]) != expected:
        problems.append("the client's Authorization header does not carry the expected key")
    in_env = "ANACONDA_AUTH_API_KEY" in os.environ
    if mode == "keyring":
        if in_env:
            problems.append("ANACONDA_AUTH_API_KEY is set, so the keyring is not what the library used")
        path = os.environ.get("ANACONDA_AUTH_KEYRING_PATH", "")
        if not os.path.isfile(path):
            problems.append("ANACONDA_AUTH_KEYRING_PATH does not name a file")
        elif sha(TokenInfo.load().api_key) != expected:
            problems.append("TokenInfo.load() read a different key from the keyring")
    elif not in_env or sha(os.environ["ANACONDA_AUTH_API_KEY"]) != expected:
        problems.append("ANACONDA_AUTH_API_KEY does not hold the expected key")
    for p in problems:
        print(f"probe: FAIL {p}")
    if problems:
        return 1
    print(f"probe: ok mode={mode} the library got the expected key (sha256 match)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
