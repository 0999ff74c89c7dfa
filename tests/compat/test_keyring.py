"""The job keyring anaconda-ci-auth writes, read and reproduced by the real anaconda-auth.

Owns: loading the job keyring through ANACONDA_AUTH_KEYRING_PATH and through the sourced env.sh,
byte-exactness against TokenInfo.save() (spec example, canary key, a non-default domain), and what
the ANACONDA_AUTH_DOMAIN export does.
"""

from compat import (LIB_VERSIONS, PROBE_CLIENT, PROBE_LOAD, SAVE_ENTRY, SPEC_SHA256, case, check, make_jwt,
                    read_env_file, sha, spec_key)


def library_saved_bytes(t, version, key, domain):
    """The keyring TokenInfo(api_key=key, domain=domain).save() writes into an empty HOME."""
    home = t.home()
    t.lib(version, SAVE_ENTRY, home, env={"COMPAT_KEY": key, "COMPAT_DOMAIN": domain})
    return (home / ".anaconda" / "keyring").read_bytes()


def check_user_keyring_untouched(home):
    user = home / ".anaconda" / "keyring"
    check(not user.exists() or user.stat().st_size == 0,
          f"the library wrote into the HOME keyring {user} instead of the job keyring")


@case("keyring-loads-via-ANACONDA_AUTH_KEYRING_PATH", LIB_VERSIONS)
def keyring_path_variable(t, version):
    job = t.setup()
    home = t.home()
    got = t.lib(version, PROBE_LOAD, home, env={"ANACONDA_AUTH_KEYRING_PATH": str(job / "keyring")},
                args=("anaconda.com",))
    check(got["version"] == version, f"child ran anaconda-auth {got['version']}")
    check(got["backend"] == "AnacondaKeyring", f"backend was {got['backend']}, not the file keyring")
    check(got["api_key_sha"] == sha(t.world.canary), "TokenInfo.load gave a different key")
    check(got["domain"] == "anaconda.com" and got["expired"] is False, f"unexpected token info {got}")
    check_user_keyring_untouched(home)


@case("keyring-loads-via-sourced-env.sh", LIB_VERSIONS)
def keyring_env_file(t, version):
    job = t.setup()
    exported = read_env_file(job / "env.sh")
    check("ANACONDA_AUTH_API_KEY" not in exported, "keyring mode exported ANACONDA_AUTH_API_KEY")
    check("ANACONDA_AUTH_DOMAIN" not in exported, "ANACONDA_AUTH_DOMAIN exported for the default domain")
    home = t.home()
    got = t.lib(version, PROBE_CLIENT, home, source=job / "env.sh")
    check(got["backend"] == "AnacondaKeyring", f"backend was {got['backend']}")
    check(got["token_sha"] == sha(t.world.canary), "TokenInfo.load() gave a different key")
    check(got["authorization_sha"] == sha("Bearer " + t.world.canary),
          "BaseClient did not prepare `Authorization: Bearer <key>`")
    check(got["env_key_sha"] is None, "ANACONDA_AUTH_API_KEY was set in keyring mode")
    check_user_keyring_untouched(home)


@case("bytes-spec-example", LIB_VERSIONS)
def bytes_spec_example(t, version):
    key = spec_key()
    t.world.watch(key)
    ours = (t.setup(key=key) / "keyring").read_bytes()
    check(len(ours) == 360 and sha(ours) == SPEC_SHA256,
          f"binary wrote {len(ours)} bytes, sha256 {sha(ours)}; spec: 360 bytes, {SPEC_SHA256}")
    theirs = library_saved_bytes(t, version, key, "anaconda.com")
    check(ours == theirs, f"TokenInfo.save() wrote sha256 {sha(theirs)} ({len(theirs)} bytes)")


@case("bytes-canary-key", LIB_VERSIONS)
def bytes_canary(t, version):
    ours = (t.setup() / "keyring").read_bytes()
    theirs = library_saved_bytes(t, version, t.world.canary, "anaconda.com")
    check(ours == theirs, f"binary {len(ours)} bytes {sha(ours)[:16]}, library {len(theirs)} {sha(theirs)[:16]}")
    check(not ours.endswith(b"\n"), "trailing newline")


@case("bytes-domain-example.org", LIB_VERSIONS)
def bytes_other_domain(t, version):
    job = t.setup("--domain", "example.org")
    ours = (job / "keyring").read_bytes()
    theirs = library_saved_bytes(t, version, t.world.canary, "example.org")
    check(ours == theirs, f"binary {len(ours)} bytes {sha(ours)[:16]}, library {len(theirs)} {sha(theirs)[:16]}")
    check(b'"example.org"' in ours and b"anaconda.com" not in ours, "keyring entry not under example.org")


@case("domain-export-example.org", LIB_VERSIONS)
def domain_export(t, version):
    job = t.setup("--domain", "example.org")
    exported = read_env_file(job / "env.sh")
    check(exported.get("ANACONDA_AUTH_DOMAIN") == "'example.org'",
          f"ANACONDA_AUTH_DOMAIN export was {exported.get('ANACONDA_AUTH_DOMAIN')}")
    home = t.home()
    # With the export, the library's default site is example.org: no domain argument needed.
    got = t.lib(version, PROBE_CLIENT, home, source=job / "env.sh")
    check(got["config_domain"] == "example.org", f"BaseClient domain was {got['config_domain']}")
    check(got["token_sha"] == sha(t.world.canary), "TokenInfo.load() did not find the key for example.org")
    check(got["authorization_sha"] == sha("Bearer " + t.world.canary), "BaseClient sent another header")
    # The entry is scoped to example.org: asking for anaconda.com must not find it.
    proc = t.lib(version, PROBE_LOAD, home, source=job / "env.sh", args=("anaconda.com",), expect=1)
    check("TokenNotFoundError" in proc.stderr, "anaconda.com lookup did not raise TokenNotFoundError")


@case("key-file-and-stdin-with-trailing-newline")
def key_file_and_stdin(t):
    key_file = t.path("api-key")
    key_file.write_text(t.world.canary + "\n")
    key_file.chmod(0o600)
    for label, job in (("--api-key-file", t.setup(source=("--api-key-file", str(key_file)))),
                       ("--api-key-stdin", t.setup(source=("--api-key-stdin",), stdin=t.world.canary + "\n"))):
        got = t.lib("0.15.3", PROBE_LOAD, t.home(), source=job / "env.sh", args=("anaconda.com",))
        check(got["api_key_sha"] == sha(t.world.canary), f"{label}: the library loaded another key")
        ours = (job / "keyring").read_bytes()
        check(ours == (t.setup() / "keyring").read_bytes(), f"{label}: keyring differs from --api-key-env")


@case("ambient-ANACONDA_AUTH_DOMAIN-is-honoured", LIB_VERSIONS)
def ambient_domain(t, version):
    # A runner that already sets ANACONDA_AUTH_DOMAIN for its jobs: later steps keep that variable.
    ambient = {"ANACONDA_AUTH_DOMAIN": "example.org"}
    job = t.setup(env=ambient)
    got = t.lib(version, PROBE_CLIENT, t.home(), env=ambient, source=job / "env.sh")
    check(got["config_domain"] == "example.org", f"library domain {got['config_domain']}")
    check(got["token_sha"] == sha(t.world.canary), "the library does not find the key for its domain")


@case("keyring-mode-env.sh-overrides-ambient-ANACONDA_AUTH_API_KEY", LIB_VERSIONS)
def ambient_api_key(t, version):
    # A job that also exposes some other key as ANACONDA_AUTH_API_KEY to every step: after sourcing
    # env.sh, the library must use the job keyring, not that variable (which would win otherwise).
    other = make_jwt(4102444800, marker="AMBIENT")
    t.world.watch(other)
    job = t.setup()
    got = t.lib(version, PROBE_CLIENT, t.home(), env={"ANACONDA_AUTH_API_KEY": other}, source=job / "env.sh")
    check(got["env_key_sha"] is None, "ANACONDA_AUTH_API_KEY is still set after sourcing env.sh")
    check(got["backend"] == "AnacondaKeyring", f"backend was {got['backend']}")
    check(got["token_sha"] == sha(t.world.canary), "the library used another key than the job keyring's")
    check(got["authorization_sha"] == sha("Bearer " + t.world.canary), "BaseClient sent another header")
