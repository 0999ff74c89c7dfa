"""Shared helpers for the anaconda-auth compatibility tests.

Owns: running the anaconda-ci-auth binary and the real anaconda-auth library in child processes
with a throw-away HOME and a minimal environment, checking every captured output for the key and
its derived forms (tests/fixtures/canary.py), the in-process fake Anaconda API
(tests/fixtures/fake_api.py), and the tiny test registry used by run.py.
The key is only ever handed to children through environment variables, never through argv.
"""

import base64
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from canary import SUB, entry_payload, leak_forms, make_jwt  # noqa: E402,F401  (one definition, re-exported)
from fake_api import FakeApi  # noqa: E402,F401  (the shared fake Anaconda API, re-exported)

CASES = []
LIB_VERSIONS = ("0.15.3", "0.14.2")
SPEC_SHA256 = "b44ccb04388c6ed0f4f50f8e4db093a7132c9206256fb69b20c03bea24bb4db2"
KEY_ENV = "CI_SECRET_KEY"
TIMEOUT = 90


class Failure(AssertionError):
    """A check that did not hold; the message never contains a key."""


def case(name, versions=None):
    """Register a test; with versions, once per anaconda-auth version (name[version])."""

    def register(func):
        if versions is None:
            CASES.append((name, func, ()))
        else:
            for version in versions:
                CASES.append((f"{name}[{version}]", func, (version,)))
        return func

    return register


def check(condition, message):
    if not condition:
        raise Failure(message)


def sha(value):
    if isinstance(value, str):
        value = value.encode()
    return hashlib.sha256(value).hexdigest()


def spec_key():
    """The fake JWT of the spec's 360-byte keyring example."""
    return make_jwt(4102444800)


class World:
    """Paths and secrets of one suite run."""

    def __init__(self, binary, pythons, canary, workdir):
        self.binary = binary
        self.pythons = pythons
        self.canary = canary
        self.workdir = Path(workdir)
        self.secrets = {}
        self.watch(canary)

    def watch(self, key, domains=("anaconda.com", "example.org")):
        """Remember a key whose forms must never show up in any captured output."""
        self.secrets[key] = leak_forms(key, domains)

    def assert_no_leak(self, label, *texts):
        for text in texts:
            lines = [ln for ln in text.splitlines() if not ln.startswith("::add-mask::")]
            joined = "\n".join(lines)
            for forms in self.secrets.values():
                for form in forms:
                    if form in joined:
                        raise Failure(f"LEAK: the output of {label} contains a key or a derived form")


class Case:
    """One test's scratch space: fresh directories, child processes, captured output."""

    def __init__(self, world, name):
        self.world = world
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix="compat-", dir=world.workdir))
        self.count = 0
        self.notes = []

    def path(self, name):
        self.count += 1
        return self.tmp / f"{self.count:02d}-{name}"

    def home(self):
        home = self.path("home")
        home.mkdir()
        return home

    def base_env(self, home):
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "TMPDIR": str(self.tmp),
            "ANACONDA_SECRETS_DIR": str(self.tmp / "no-secrets"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def _finish(self, label, proc, expect):
        out = proc.stdout if isinstance(proc.stdout, str) else proc.stdout.decode(errors="replace")
        err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
        self.world.assert_no_leak(label, out, err)
        if expect is not None and proc.returncode != expect:
            raise Failure(f"{label} exited {proc.returncode}, expected {expect}; stderr: {err.strip()[-600:]}")
        return proc

    def bin_cmd(self, args, key=None, env=None, home=None):
        """argv and env for the binary; the key travels in $CI_SECRET_KEY."""
        full = self.base_env(home or self.home())
        if key is not None:
            full[KEY_ENV] = key
        full.update(env or {})
        return [str(self.world.binary), *args], full

    def bin(self, *args, key=None, env=None, home=None, expect=0, stdin=None):
        if key is None:
            key = self.world.canary
        argv, full = self.bin_cmd(args, key, env, home)
        proc = subprocess.run(argv, env=full, capture_output=True, text=True, timeout=TIMEOUT, cwd=self.tmp,
                              input=stdin)
        return self._finish(f"anaconda-ci-auth {args[0]}", proc, expect)

    def setup(self, *extra, key=None, env=None, validate="offline", source=("--api-key-env", KEY_ENV),
              stdin=None):
        """`setup` into a fresh job dir; returns the job dir."""
        job = self.path("job")
        self.bin("setup", "--validate", validate, *source, "--ci", "none",
                 "--dir", str(job), *extra, key=key, env=env, stdin=stdin)
        return job

    def lib(self, version, code, home, env=None, source=None, args=(), expect=0):
        """Run python code with anaconda-auth VERSION; returns the JSON its last stdout line holds."""
        python = str(self.world.pythons[version])
        full = self.base_env(home)
        full.update(env or {})
        if source is None:
            argv = [python, "-c", code, *args]
        else:
            argv = ["bash", "-c", 'set -eu; . "$0"; exec "$@"', str(source), python, "-c", code, *args]
        proc = subprocess.run(argv, env=full, capture_output=True, text=True, timeout=TIMEOUT, cwd=self.tmp)
        self._finish(f"anaconda-auth {version} child", proc, expect)
        lines = proc.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines and proc.returncode == 0 else proc


# Library snippets run in the child. They print hashes, never keys.
PROBE_LOAD = r"""
import hashlib, json, sys
import anaconda_auth
from anaconda_auth.token import TokenInfo
import keyring
h = lambda s: hashlib.sha256(s.encode()).hexdigest() if s is not None else None
ti = TokenInfo.load(sys.argv[1]) if len(sys.argv) > 1 else TokenInfo.load()
print(json.dumps({
    "version": anaconda_auth.__version__,
    "backend": type(keyring.get_keyring()).__name__,
    "api_key_sha": h(ti.api_key),
    "domain": ti.domain,
    "username": ti.username,
    "repo_tokens": [t.model_dump(exclude_none=True) for t in ti.repo_tokens],
    "expired": ti.expired,
}))
"""

PROBE_CLIENT = r"""
import hashlib, json, os
import requests
from anaconda_auth.client import BaseClient
from anaconda_auth.token import TokenInfo
import keyring
h = lambda s: hashlib.sha256(s.encode()).hexdigest() if s is not None else None
client = BaseClient(base_uri=os.environ.get("COMPAT_API", "http://127.0.0.1:9"))
prepared = client.prepare_request(requests.Request("GET", "/api/account"))
ti = TokenInfo.load()
out = {
    "config_domain": client.config.domain,
    "url": prepared.url,
    "authorization_sha": h(prepared.headers.get("Authorization")),
    "token_sha": h(ti.api_key),
    "backend": type(keyring.get_keyring()).__name__,
    "env_key_sha": h(os.environ.get("ANACONDA_AUTH_API_KEY")),
    "keyring_path_env": os.environ.get("ANACONDA_AUTH_KEYRING_PATH"),
}
if "COMPAT_API" in os.environ:
    out["username"] = client.account["user"]["username"]
print(json.dumps(out))
"""

SAVE_ENTRY = r"""
import json, os
from anaconda_auth.token import TokenInfo
TokenInfo(api_key=os.environ["COMPAT_KEY"], domain=os.environ["COMPAT_DOMAIN"]).save()
print(json.dumps({"saved": True}))
"""


def read_env_file(path):
    """NAME -> value of the `export NAME='value'` lines of an env.sh."""
    env = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            name, value = line[len("export "):].split("=", 1)
            env[name] = value
    return env


def decode_entry(value):
    return json.loads(base64.b64decode(value, validate=True))

