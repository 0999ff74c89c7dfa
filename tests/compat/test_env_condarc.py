"""Env mode and the job condarc, as the real anaconda-auth (and conda's rules) see them.

Owns: `--mode env` (the library takes the key from ANACONDA_AUTH_API_KEY after sourcing env.sh),
and condarc.yml: its name, YAML validity and the channel_settings routing Anaconda's repositories to
the anaconda-auth handler (conda itself cannot be installed here; the rules are anaconda-auth.md §6).
"""

import fnmatch
import stat

import yaml

from compat import LIB_VERSIONS, PROBE_CLIENT, case, check, read_env_file, sha


@case("env-mode-library-uses-ANACONDA_AUTH_API_KEY", LIB_VERSIONS)
def env_mode(t, version):
    job = t.setup("--mode", "env")
    env_text = (job / "env.sh").read_text()
    exported = read_env_file(job / "env.sh")
    check("ANACONDA_AUTH_API_KEY" in exported, "env mode did not export ANACONDA_AUTH_API_KEY")
    check("ANACONDA_AUTH_KEYRING_PATH" not in exported, "env mode exported a keyring path")
    check(t.world.canary not in env_text, "env.sh holds the key itself instead of a reference")
    key_file = job / "api-key"
    check(stat.S_IMODE(key_file.stat().st_mode) == 0o600, "api-key file is not 0600")
    check(sha(key_file.read_text().strip()) == sha(t.world.canary), "api-key file holds another key")
    check(not (job / "keyring").exists(), "env mode wrote a keyring")
    got = t.lib(version, PROBE_CLIENT, t.home(), source=job / "env.sh")
    check(got["env_key_sha"] == sha(t.world.canary), "ANACONDA_AUTH_API_KEY is not the key after sourcing")
    check(got["backend"] == "ConfigKeyring", f"backend was {got['backend']}, expected ConfigKeyring")
    check(got["token_sha"] == sha(t.world.canary), "TokenInfo.load() gave another key")
    check(got["authorization_sha"] == sha("Bearer " + t.world.canary), "BaseClient sent another header")


def channel_entries(condarc):
    data = yaml.safe_load(condarc.read_text())
    check(isinstance(data, dict), "condarc.yml is not a YAML mapping")
    entries = data.get("channel_settings")
    check(isinstance(entries, list) and entries, "condarc.yml has no channel_settings list")
    for entry in entries:
        check(isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values()),
              f"channel_settings entry is not a mapping of strings: {entry}")
    return entries


def routed(entries, url):
    """The entry conda would use for URL: the last whose glob matches (conda session.py)."""
    matches = [e for e in entries if fnmatch.fnmatch(url, e["channel"])]
    return matches[-1] if matches else None


@case("condarc-routes-anaconda-repos-to-anaconda-auth")
def condarc_default(t):
    job = t.setup()
    condarc = job / "condarc.yml"
    exported = read_env_file(job / "env.sh")
    check(exported.get("CONDARC") == f"'{condarc}'", f"CONDARC export is {exported.get('CONDARC')}")
    entries = channel_entries(condarc)
    channels = [e["channel"] for e in entries]
    for pattern in ("https://repo.anaconda.cloud/*", "https://repo.anaconda.com/*"):
        check(pattern in channels, f"no channel_settings entry for {pattern}")
    for url in ("https://repo.anaconda.cloud/repo/main/noarch/repodata.json",
                "https://repo.anaconda.com/pkgs/main/linux-64/repodata.json"):
        entry = routed(entries, url)
        check(entry is not None and entry.get("auth") == "anaconda-auth", f"{url} not routed to anaconda-auth")
        check(entry.get("auth_domain", "anaconda.com") == "anaconda.com", f"{url} uses domain {entry}")
    for url in ("https://conda.anaconda.org/conda-forge/noarch/repodata.json",
                "http://repo.anaconda.cloud/repo/main/noarch/repodata.json"):
        check(routed(entries, url) is None, f"{url} is routed although it should not be")


@case("condarc-domain-and-extra-channels")
def condarc_domain(t):
    job = t.setup("--domain", "example.org", "--channel", "https://mirror.example.com/*=anaconda.com",
                  "--channel", "https://other.example.net/*")
    entries = channel_entries(job / "condarc.yml")
    expect = {
        "https://repo.anaconda.cloud/repo/main/noarch/repodata.json": "example.org",
        "https://mirror.example.com/main/noarch/repodata.json": "anaconda.com",
        "https://other.example.net/x/noarch/repodata.json": "example.org",
    }
    for url, domain in expect.items():
        entry = routed(entries, url)
        check(entry is not None and entry.get("auth") == "anaconda-auth", f"{url} not routed to anaconda-auth")
        check(entry.get("auth_domain") == domain, f"{url}: auth_domain {entry.get('auth_domain')}, want {domain}")


@case("both-mode-keyring-survives-unset-variable", LIB_VERSIONS)
def both_mode(t, version):
    job = t.setup("--mode", "both")
    exported = read_env_file(job / "env.sh")
    check({"ANACONDA_AUTH_API_KEY", "ANACONDA_AUTH_KEYRING_PATH"} <= set(exported), f"exports {sorted(exported)}")
    got = t.lib(version, PROBE_CLIENT, t.home(), source=job / "env.sh")
    check(got["backend"] == "ConfigKeyring" and got["token_sha"] == sha(t.world.canary), f"with variable: {got}")
    # A later step that drops the variable (e.g. `env -u`) still finds the key in the job keyring.
    unset = t.path("unset.sh")
    unset.write_text(f". '{job / 'env.sh'}'\nunset ANACONDA_AUTH_API_KEY\n")
    got = t.lib(version, PROBE_CLIENT, t.home(), source=unset)
    check(got["backend"] == "AnacondaKeyring" and got["token_sha"] == sha(t.world.canary), f"without: {got}")
