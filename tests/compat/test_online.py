"""Online: the Authorization header of anaconda-ci-auth and of the library's own client agree.

Owns: the fake Anaconda API on 127.0.0.1 (tests/fixtures/fake_api.py) recording header hashes; `validate
--api-url` and `setup --api-url` from the binary, BaseClient().account from the library reading the
keyring we wrote; a key the API rejects.
"""

import json

from compat import KEY_ENV, LIB_VERSIONS, PROBE_CLIENT, FakeApi, case, check, make_jwt, sha


@case("online-same-authorization-header", LIB_VERSIONS)
def online_header(t, version):
    with FakeApi([sha(t.world.canary)]) as api:
        t.bin("validate", "--api-key-env", KEY_ENV, "--ci", "none", "--api-url", api.url)
        check(len(api.seen) == 1, f"validate made {len(api.seen)} requests")
        ours = api.seen[-1]
        proc = t.bin("setup", "--api-key-env", KEY_ENV, "--ci", "none", "--api-url", api.url, "--json",
                     "--dir", str(t.path("job")))
        result = json.loads(proc.stdout)
        check(result["validation"]["username"] == "ci-bot", f"setup validation: {result['validation']}")
        job = result["dir"]
        got = t.lib(version, PROBE_CLIENT, t.home(), source=f"{job}/env.sh", env={"COMPAT_API": api.url})
        theirs = api.seen[-1]
    check(got["username"] == "ci-bot", f"library account username {got.get('username')}")
    check(ours["path"] == theirs["path"] == "/api/account", f"paths {ours['path']} / {theirs['path']}")
    check(ours["auth_sha"] == theirs["auth_sha"] == sha("Bearer " + t.world.canary),
          "the binary and the library sent different Authorization headers")
    t.notes.append(f"user agents: binary {ours['user_agent']!r}, library {theirs['user_agent']!r}")


@case("online-rejected-key-exit-6")
def online_rejected(t):
    other = make_jwt(4102444800, marker="REJECTED")
    t.world.watch(other)
    with FakeApi([sha(t.world.canary)]) as api:
        t.bin("validate", "--api-key-env", KEY_ENV, "--ci", "none", "--api-url", api.url, key=other, expect=6)
        check(api.seen and api.seen[-1]["auth_sha"] == sha("Bearer " + other), "the rejected key was not sent")
        job = t.path("job")
        t.bin("setup", "--api-key-env", KEY_ENV, "--ci", "none", "--api-url", api.url, "--dir", str(job),
              key=other, expect=6)
    check(not job.exists(), "a rejected setup left its job directory")
