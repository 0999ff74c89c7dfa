"""`setup --keyring-path` merging into a keyring the real anaconda-auth wrote, and `cleanup`.

Owns: preserving other services and domains byte-for-byte and in order, keeping username and
repo_tokens of our domain's entry (as anaconda-auth 0.15.3 `login` does), the library loading the
merged key, exact restore or removal by cleanup, eight concurrent merges, refusal of invalid JSON.
"""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from compat import (KEY_ENV, PROBE_LOAD, TIMEOUT, case, check, decode_entry, make_jwt,
                    sha)

NEW = "0.15.3"

PREPARE = r"""
import json, os
import keyring
from anaconda_auth.token import RepoToken, TokenInfo
TokenInfo(api_key=os.environ["OTHER_KEY"], domain="other.example").save()
keyring.set_password("other-service", "alice", 'p\u00e4ssw\u00f6rd "quoted" \u2713 /slash\\')
TokenInfo(api_key=os.environ["OLD_KEY"], domain="anaconda.com", username="ci-user",
          repo_tokens=[RepoToken(token="REPOTOKEN-ORG1", org_name="org1"),
                       RepoToken(token="REPOTOKEN-NOORG")]).save()
TokenInfo(api_key=os.environ["OTHER_KEY"], domain="after.example").save()
keyring.set_password("other-service", "bob", "plain")
print(json.dumps({"prepared": True}))
"""

# What anaconda-auth 0.15.3 `anaconda login` does to an existing entry (actions.py 221-225).
LOGIN_UPDATE = r"""
import json, os
from anaconda_auth.token import TokenInfo
ti = TokenInfo.load("anaconda.com", create=True)
ti.api_key = os.environ["COMPAT_KEY"]
ti.save()
print(json.dumps({"updated": True}))
"""

CREATE_EMPTY = r"""
import json
import anaconda_auth.token
import keyring
print(json.dumps({"backend": type(keyring.get_keyring()).__name__}))
"""

LOAD_MANY = r"""
import hashlib, json, sys
from anaconda_auth.token import TokenInfo
print(json.dumps({d: hashlib.sha256(TokenInfo.load(d).api_key.encode()).hexdigest() for d in sys.argv[1:]}))
"""

REPO_TOKENS = [{"token": "REPOTOKEN-ORG1", "org_name": "org1"}, {"token": "REPOTOKEN-NOORG"}]


def side_keys(t):
    keys = {"OTHER_KEY": make_jwt(4102444800, marker="OTHERKEY"), "OLD_KEY": make_jwt(4102444800, marker="OLDKEY")}
    for key in keys.values():
        t.world.watch(key, ("anaconda.com", "other.example", "after.example"))
    return keys


def prepared_home(t):
    """A HOME whose ~/.anaconda/keyring the library filled; returns (home, keyring, keys)."""
    home = t.home()
    keys = side_keys(t)
    t.lib(NEW, PREPARE, home, env=keys)
    return home, home / ".anaconda" / "keyring", keys


def ordered(raw):
    return json.loads(raw, object_pairs_hook=lambda pairs: pairs)


def merge(t, path, *extra, key=None, expect=0):
    job = t.path("job")
    t.bin("setup", "--validate", "offline", "--api-key-env", KEY_ENV, "--ci", "none", "--dir", str(job),
          "--keyring-path", str(path), *extra, key=key, expect=expect)
    return job


@case("merge-keeps-other-services-and-domains")
def merge_keeps_others(t):
    home, path, _ = prepared_home(t)
    before = path.read_bytes()
    merge(t, path)
    after = path.read_bytes()
    old, new = ordered(before), ordered(after)
    check([s for s, _ in new] == [s for s, _ in old], f"services reordered: {[s for s, _ in new]}")
    for (service, old_users), (_, new_users) in zip(old, new):
        check([u for u, _ in new_users] == [u for u, _ in old_users], f"usernames of {service} reordered")
        for (user, old_value), (_, new_value) in zip(old_users, new_users):
            if (service, user) != ("Anaconda Cloud", "anaconda.com"):
                check(new_value == old_value, f"entry {service}/{user} changed")
    ours = decode_entry(dict(dict(new)["Anaconda Cloud"])["anaconda.com"])
    check(sha(ours.get("api_key", "")) == sha(t.world.canary), "merged entry does not hold our key")
    check(ours.get("username") == "ci-user", f"username not kept: {ours.get('username')}")
    check(ours.get("repo_tokens") == REPO_TOKENS, f"repo_tokens not kept: {ours.get('repo_tokens')}")
    check(list(ours) == ["domain", "api_key", "username", "repo_tokens", "version"], f"payload keys {list(ours)}")
    check(after == json.dumps(json.loads(after)).encode(), "merged file is not in Python json.dumps style")
    # Byte-for-byte what the library itself writes when it updates the key of that entry.
    twin = t.home()
    (twin / ".anaconda").mkdir()
    (twin / ".anaconda" / "keyring").write_bytes(before)
    t.lib(NEW, LOGIN_UPDATE, twin, env={"COMPAT_KEY": t.world.canary})
    theirs = (twin / ".anaconda" / "keyring").read_bytes()
    check(after == theirs, f"merged file differs from the library's update ({len(after)} vs {len(theirs)} bytes)")


@case("merge-library-loads-merged-key", ("0.15.3", "0.14.2"))
def merge_library_loads(t, version):
    home, path, keys = prepared_home(t)
    job = merge(t, path)
    # The default path (~/.anaconda/keyring), no variable: what any later process of the job reads.
    got = t.lib(version, PROBE_LOAD, home, args=("anaconda.com",))
    check(got["backend"] == "AnacondaKeyring", f"backend was {got['backend']}")
    check(got["api_key_sha"] == sha(t.world.canary), "TokenInfo.load gave another key")
    check(got["username"] == "ci-user" and got["repo_tokens"] == REPO_TOKENS, f"entry lost data: {got}")
    other = t.lib(version, PROBE_LOAD, home, source=job / "env.sh", args=("other.example",))
    check(other["api_key_sha"] == sha(keys["OTHER_KEY"]), "other.example entry no longer loads its key")


@case("merge-cleanup-restores-previous-file")
def merge_cleanup_restores(t):
    home, path, keys = prepared_home(t)
    before, mode = path.read_bytes(), path.stat().st_mode
    job = merge(t, path)
    check(path.read_bytes() != before, "setup did not change the keyring")
    t.bin("cleanup", "--dir", str(job))
    after = path.read_bytes()
    check(after == before, f"cleanup left {len(after)} bytes (sha {sha(after)[:16]}), before {len(before)}")
    check(path.stat().st_mode == mode, f"cleanup changed the mode {mode:o} to {path.stat().st_mode:o}")
    check(not job.exists(), "cleanup left the job directory")
    got = t.lib(NEW, PROBE_LOAD, home, args=("anaconda.com",))
    check(got["api_key_sha"] == sha(keys["OLD_KEY"]), "the previous key does not load after cleanup")


@case("merge-new-keyring-cleanup-removes-it")
def merge_new_file(t):
    home = t.home()
    path = home / ".anaconda" / "keyring"
    job = merge(t, path)
    got = t.lib(NEW, PROBE_LOAD, home, args=("anaconda.com",))
    check(got["api_key_sha"] == sha(t.world.canary), "the library did not load the new keyring")
    t.bin("cleanup", "--dir", str(job))
    check(not path.exists(), "cleanup left the keyring it created")
    leftovers = sorted(p.name for p in path.parent.iterdir()) if path.parent.exists() else None
    check(leftovers is None, f"cleanup left the directory {path.parent.name}/ it created, containing {leftovers}")


@case("merge-into-empty-keyring-cleanup-restores-it")
def merge_empty_file(t):
    home = t.home()
    path = home / ".anaconda" / "keyring"
    # The library's backend probe creates an empty keyring file: a common starting point.
    got = t.lib(NEW, CREATE_EMPTY, home)
    check(path.exists() and path.stat().st_size == 0, f"library did not create an empty keyring ({got})")
    mode = path.stat().st_mode
    job = merge(t, path)
    got = t.lib(NEW, PROBE_LOAD, home, args=("anaconda.com",))
    check(got["api_key_sha"] == sha(t.world.canary), "the library did not load the merged key")
    t.bin("cleanup", "--dir", str(job))
    check(path.exists(), "cleanup removed a keyring file that existed before setup")
    after = path.read_bytes()
    check(after == b"", f"cleanup left {after[:20]!r} in a keyring that was empty before setup")
    check(path.stat().st_mode == mode, f"cleanup changed the mode {mode:o} to {path.stat().st_mode:o}")


@case("merge-refuses-invalid-json")
def merge_invalid_json(t):
    home = t.home()
    path = home / ".anaconda" / "keyring"
    path.parent.mkdir()
    path.write_bytes(b'{"Anaconda Cloud": {"anaconda.com": "tru')
    os.utime(path, (1_000_000_000, 1_000_000_000))
    before = path.read_bytes()
    job = merge(t, path, expect=8)
    check(path.read_bytes() == before, "setup modified an invalid keyring file")
    check(path.stat().st_mtime == 1_000_000_000, "setup touched an invalid keyring file")
    check(not job.exists(), "a refused setup left its job directory")


def parallel(t, argvs_envs):
    """Start every (argv, env) at once; returns their exit codes."""

    def one(argv_env):
        argv, env = argv_env
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=t.tmp)
        t.world.assert_no_leak("parallel anaconda-ci-auth", proc.stdout, proc.stderr)
        return proc.returncode, proc.stderr.strip()[-300:]

    with ThreadPoolExecutor(max_workers=len(argvs_envs)) as pool:
        return list(pool.map(one, argvs_envs))


@case("merge-8-concurrent-setups-and-cleanups")
def merge_concurrent(t):
    home, path, _ = prepared_home(t)
    before = path.read_bytes()
    domains = [f"d{i}.example" for i in range(8)]
    keys = {d: make_jwt(4102444800, marker=f"PARALLEL{i}") for i, d in enumerate(domains)}
    for d, key in keys.items():
        t.world.watch(key, (d,))
    jobs = {d: t.path(f"job-{d}") for d in domains}
    setups = [t.bin_cmd(["setup", "--validate", "offline", "--api-key-env", KEY_ENV, "--ci", "none",
                         "--domain", d, "--dir", str(jobs[d]), "--keyring-path", str(path)], keys[d])
              for d in domains]
    results = parallel(t, setups)
    check(all(rc == 0 for rc, _ in results), f"setups failed: {[r for r in results if r[0]]}")
    data = json.loads(path.read_bytes())
    missing = [d for d in domains if d not in data.get("Anaconda Cloud", {})]
    check(not missing, f"entries lost by concurrent merges: {missing}")
    got = t.lib(NEW, LOAD_MANY, home, args=domains)
    wrong = [d for d in domains if got[d] != sha(keys[d])]
    check(not wrong, f"domains loading another key after concurrent merges: {wrong}")
    cleanups = [t.bin_cmd(["cleanup", "--dir", str(jobs[d])]) for d in domains]
    results = parallel(t, cleanups)
    check(all(rc == 0 for rc, _ in results), f"cleanups failed: {[r for r in results if r[0]]}")
    after = path.read_bytes()
    check(after == before, f"after 8 concurrent cleanups the keyring differs ({len(after)} vs {len(before)} bytes)")
