//! Merging a job's entries into a shared credential file that outlives the job (a user's
//! keyring given with `--keyring-path`, mamba's `~/.mamba/auth/authentication.json`), so that a
//! crash at any instruction, concurrent jobs and cleanups in any order all end with the file
//! exactly as it was.
//!
//! Beside the target `F` live three sidecar files while any job holds an entry in it, all 0600
//! and owned like `F`:
//! - `.F.anaconda-ci-auth-orig`: the bytes of `F` before the first job touched it (absent when
//!   `F` did not exist), written once;
//! - `.F.anaconda-ci-auth-ledger`: the write-ahead ledger: whether `F` existed, its mode, owner
//!   and the directories created for it, and per entry the jobs holding it, oldest first, each
//!   with its state file and its value (so the ledger holds the key while a job holds an entry,
//!   like `F` itself), and the value last written into `F`;
//! - `.F.anaconda-ci-auth-lock`: the lock every writer of `F` takes (waiting at most a minute).
//!
//! Nothing outside `F`'s directory is read or written, and when root works in a directory
//! another user controls, every file operation runs as that user ([`fsx::ActAs`]), so a link or
//! directory swapped in by them leads only to files they could change anyway.
//!
//! Order: the job's record names the merge (record first), the ledger is updated (durably),
//! then `F` is rewritten from the ledger ("reconciled"): each entry holds the value of its newest
//! live holder, or the original entry when none is left; an entry someone else changed since we
//! wrote it is left alone and no longer managed. When the last holder leaves, `F` gets its
//! original bytes back (or is removed if it did not exist), then the ledger, the copy and the
//! lock go. Reconciling is idempotent, so an operation interrupted anywhere is finished by the
//! next one on the same file; holders whose state file is gone are dropped as dead. `F` is
//! replaced through a temporary file whose mode (and, for root, owner) is set on its descriptor
//! before the rename.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Kind, Result};
use crate::fsx::{self, ActAs, Attrs, FileLock};
use crate::keyring::{self, Keyring};

/// The shared files a job merges into.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Format {
    /// anaconda-auth's keyring: entries are `{"Anaconda Cloud": {"<domain>": "<base64>"}}`.
    Keyring,
    /// libmamba's `~/.mamba/auth/authentication.json`: entries are `{"<host[:port]>": {...}}`.
    MambaAuth,
}

impl Format {
    fn role(self) -> &'static str {
        match self {
            Self::Keyring => "a keyring",
            Self::MambaAuth => "mamba's authentication file",
        }
    }
}

/// A parsed shared file whose entries are JSON values addressed by name; everything else in it
/// is kept as it is, in order.
pub(crate) struct Doc {
    format: Format,
    root: Map<String, Value>,
}

impl Doc {
    /// Parses `text`; an empty file is an empty document. Anything we could not put back entry
    /// by entry is refused.
    pub(crate) fn parse(format: Format, text: &str, path: &Path) -> Result<Self> {
        if format == Format::Keyring {
            // Validates the keyring's shape (and says how to fix it).
            Keyring::parse(text, path)?;
        }
        if text.trim().is_empty() {
            return Ok(Self {
                format,
                root: Map::new(),
            });
        }
        let refuse = |why: &str| {
            Error::new(
                Kind::Filesystem,
                format!("refusing to modify `{}`: {why}", path.display()),
            )
            .hint("move the file aside or repair it; nothing was changed")
        };
        match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
            Ok(Value::Object(root)) => {
                if format == Format::MambaAuth && root.values().any(|v| !v.is_object()) {
                    return Err(refuse("an entry is not a JSON object"));
                }
                Ok(Self { format, root })
            }
            Ok(_) => Err(refuse("it is not a JSON object")),
            Err(_) => Err(refuse("it is not valid JSON")),
        }
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Value> {
        match self.format {
            Format::Keyring => self.root.get(keyring::SERVICE)?.get(name),
            Format::MambaAuth => self.root.get(name),
        }
    }

    fn set(&mut self, name: &str, value: Option<Value>) {
        let map = match self.format {
            Format::Keyring => match value {
                Some(_) => self
                    .root
                    .entry(keyring::SERVICE)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut(),
                None => self.root.get_mut(keyring::SERVICE).and_then(Value::as_object_mut),
            },
            Format::MambaAuth => Some(&mut self.root),
        };
        let Some(map) = map else {
            return;
        };
        match value {
            Some(v) => {
                map.insert(name.to_owned(), v);
            }
            None => {
                map.shift_remove(name);
            }
        }
        // Removing the last domain of the keyring's service removes the service.
        if self.format == Format::Keyring
            && self
                .root
                .get(keyring::SERVICE)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
        {
            self.root.shift_remove(keyring::SERVICE);
        }
    }

    fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    fn render(&self) -> Zeroizing<String> {
        let value = Value::Object(self.root.clone());
        match self.format {
            Format::Keyring => keyring::python_dumps(&value),
            Format::MambaAuth => Zeroizing::new(serde_json::to_string_pretty(&value).unwrap_or_default()),
        }
    }
}

const ORIG_SUFFIX: &str = ".anaconda-ci-auth-orig";
const LEDGER_SUFFIX: &str = ".anaconda-ci-auth-ledger";
const LOCK_SUFFIX: &str = ".anaconda-ci-auth-lock";
const LEDGER_FORMAT: u32 = 2;

/// One job holding an entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Holder {
    /// The job's state file; the job is alive while it exists.
    state: PathBuf,
    /// The job's value for the entry.
    value: Value,
}

/// One entry of the target that jobs hold or held.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Managed {
    holders: Vec<Holder>,
    /// What we last wrote into the target for this entry (None: removed it).
    written: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Ledger {
    tool: String,
    format: u32,
    target: PathBuf,
    kind: Format,
    existed: bool,
    mode: Option<u32>,
    owner: Option<(u32, u32)>,
    created_dirs: Vec<PathBuf>,
    /// Entry → its holders. An entry stays listed (maybe with no holder) until the ledger is
    /// removed, so that it is put back to its original value.
    entries: BTreeMap<String, Managed>,
}

fn sidecar(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{suffix}"))
}

/// The sidecar files of `target`.
#[cfg(test)]
fn sidecars(target: &Path) -> [PathBuf; 3] {
    [
        sidecar(target, ORIG_SUFFIX),
        sidecar(target, LEDGER_SUFFIX),
        sidecar(target, LOCK_SUFFIX),
    ]
}

/// The entries a job sets, by name.
pub(crate) type Entries = Vec<(String, Value)>;

/// Makes the job with state file `state` the newest holder of its entries in `target` (any
/// entries it held before are let go). `make_entries` gets the file as it was before any job and
/// returns the job's entries.
pub(crate) fn join(
    target: &Path,
    format: Format,
    state: &Path,
    make_entries: impl FnOnce(&Doc) -> Entries,
) -> Result<()> {
    let dir = parent_of(target);
    let _as_owner = ActAs::owner_of(&dir)?;
    let created_dirs = create_missing_dirs(&dir)?;
    fsx::check_parent(&dir)?;
    fsx::regular_or_absent(target, format.role())?;
    let lock = FileLock::acquire(&sidecar(target, LOCK_SUFFIX))?;
    fsx::remove_stale_temps(&dir);
    let ledger = match load_ledger(target) {
        Ok(Some(l)) if l.kind == format => Ok(l),
        Ok(Some(_)) => Err(Error::new(
            Kind::Filesystem,
            format!(
                "`{}` is already merged into as another kind of file",
                target.display()
            ),
        )
        .hint("point each option at its own file")),
        Ok(None) => start_ledger(target, format, created_dirs),
        Err(e) => Err(e),
    };
    let mut ledger = match ledger {
        Ok(l) => l,
        Err(e) => {
            // Nothing is in flight unless a ledger exists: leave no lock file behind.
            if !sidecar(target, LEDGER_SUFFIX).exists() {
                lock.remove();
            }
            return Err(e);
        }
    };
    let original = read_original(target, &ledger)?;
    for m in ledger.entries.values_mut() {
        m.holders.retain(|h| h.state != state);
    }
    for (name, value) in make_entries(&original.doc) {
        ledger.entries.entry(name).or_default().holders.push(Holder {
            state: state.to_path_buf(),
            value,
        });
    }
    save_ledger(target, &ledger).map_err(|e| about(target, e))?;
    if let Err(e) = reconcile(target, &mut ledger, &original, lock) {
        // The file was not changed (it is replaced in one rename): take our entries back out
        // of the ledger, so it does not keep the key for a job that never got in.
        abandon(target, &mut ledger, state);
        return Err(e);
    }
    Ok(())
}

/// An error writing a sidecar, told as what it means for `target`.
fn about(target: &Path, e: Error) -> Error {
    let mut out = Error::new(
        e.kind,
        format!(
            "could not prepare `{}` for the merge: {}",
            target.display(),
            e.message
        ),
    );
    out.causes = e.causes;
    out.hints = e.hints;
    out
}

/// Lists `target` in the caller's merge index (a file named by the SHA-256 of the path, holding
/// the path), so that `--sweep` can finish a merge whose job directory is gone.
/// Returns the directories it created (innermost first), for the job's record.
pub(crate) fn list_in_index(index: &Path, target: &Path) -> Result<Vec<PathBuf>> {
    let created = create_missing_dirs(index)?;
    let entry = index.join(index_name(target));
    if !entry.exists() {
        fsx::write_atomic(&entry, target.to_string_lossy().as_bytes())?;
    }
    Ok(created)
}

/// Removes `target`'s index entry once no ledger is left beside it.
pub(crate) fn unlist_if_done(index: &Path, target: &Path) {
    if !fsx::exists_as_caller(&sidecar(target, LEDGER_SUFFIX)) {
        let _ = fsx::remove_own_file(&index.join(index_name(target)));
    }
}

fn index_name(target: &Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(target.to_string_lossy().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// For every file in the caller's merge index: drops holders whose job is gone and puts back what
/// no live job needs (the original, once none is left); entries whose ledger is gone are removed.
/// One line per file restored, for the user.
pub(crate) fn tidy(index: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(index) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(Some(bytes)) = fsx::read_regular_owned(&e.path(), "a merge index entry") else {
            continue;
        };
        let target = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
        let ledger = sidecar(&target, LEDGER_SUFFIX);
        if !fsx::exists_as_caller(&ledger) {
            let _ = fsx::remove_own_file(&e.path());
            continue;
        }
        // No job has this state path: only dead holders are dropped.
        match leave(&target, Path::new("/")) {
            Ok(_) if !fsx::exists_as_caller(&ledger) => {
                let _ = fsx::remove_own_file(&e.path());
                out.push(format!(
                    "anaconda-ci-auth: restored {} (the jobs that merged into it are gone)",
                    target.display()
                ));
            }
            Ok(_) => {}
            Err(err) => out.push(format!(
                "anaconda-ci-auth: could not restore {}: {}",
                target.display(),
                err.message
            )),
        }
    }
    out
}

/// After a failed join: removes `state`'s holders; without other holders, the sidecars go.
fn abandon(target: &Path, ledger: &mut Ledger, state: &Path) {
    for m in ledger.entries.values_mut() {
        m.holders.retain(|h| h.state != state);
    }
    if ledger.entries.values().all(|m| m.holders.is_empty()) {
        let _ = remove_sidecar(&sidecar(target, LEDGER_SUFFIX));
        let _ = remove_sidecar(&sidecar(target, ORIG_SUFFIX));
        let _ = remove_sidecar(&sidecar(target, LOCK_SUFFIX));
    } else {
        let _ = save_ledger(target, ledger);
    }
}

/// Removes the job with state file `state` from every entry of `target` it holds, and puts back
/// what the remaining holders (or the original) need. Returns warnings.
pub(crate) fn leave(target: &Path, state: &Path) -> Result<Vec<String>> {
    let dir = parent_of(target);
    let _as_owner = ActAs::owner_of(&dir)?;
    // Without the directory there is no ledger either: nothing was merged here, or the last
    // leave put the file back and removed the directories it had created. (A directory that is
    // only unreachable, an unmounted home, looks the same and cannot be told apart here.)
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    if !sidecar(target, LEDGER_SUFFIX).exists() {
        // Nothing of ours is in flight (a join that failed, or one killed before its ledger):
        // tidy what a killed run left, where that is possible at all.
        if let Ok(lock) = FileLock::acquire(&sidecar(target, LOCK_SUFFIX)) {
            fsx::remove_stale_temps(&dir);
            if load_ledger(target).ok().flatten().is_none() {
                let _ = remove_sidecar(&sidecar(target, ORIG_SUFFIX));
                lock.remove();
            }
        }
        return Ok(Vec::new());
    }
    let lock = FileLock::acquire(&sidecar(target, LOCK_SUFFIX))?;
    fsx::remove_stale_temps(&dir);
    let Some(mut ledger) = load_ledger(target)? else {
        // Nothing in flight: a copy without a ledger is left from a run killed while finishing.
        remove_sidecar(&sidecar(target, ORIG_SUFFIX))?;
        lock.remove();
        return Ok(Vec::new());
    };
    let mut warnings = Vec::new();
    for m in ledger.entries.values_mut() {
        let before = m.holders.len();
        m.holders.retain(|h| h.state != state);
        if before != m.holders.len() && m.holders.iter().any(|h| fsx::exists_as_caller(&h.state)) {
            warnings.push(format!(
                "`{}` keeps the entry of another job that is still running; it is restored when that job is cleaned up",
                target.display()
            ));
        }
    }
    let original = read_original(target, &ledger)?;
    reconcile(target, &mut ledger, &original, lock)?;
    Ok(warnings)
}

fn parent_of(target: &Path) -> PathBuf {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Creates the missing directories above `dir` (0700), returning them innermost first.
fn create_missing_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut created = Vec::new();
    let mut missing = dir;
    while !missing.exists() {
        created.push(missing.to_path_buf());
        match missing.parent() {
            Some(p) if !p.as_os_str().is_empty() => missing = p,
            _ => break,
        }
    }
    fsx::create_dir_all_private(dir)?;
    Ok(created)
}

/// A new ledger for `target`, after saving its original bytes.
fn start_ledger(target: &Path, format: Format, created_dirs: Vec<PathBuf>) -> Result<Ledger> {
    let orig = sidecar(target, ORIG_SUFFIX);
    let meta = fsx::regular_or_absent(target, format.role())?;
    let attrs = meta.as_ref().map(fsx::attrs_of).unwrap_or_default();
    match fsx::read_regular(target, format.role())? {
        Some(bytes) => {
            // Refuse a file we could not put back entry by entry, before anything is written.
            Doc::parse(format, &String::from_utf8_lossy(&bytes), target)?;
            fsx::write_durable(&orig, &bytes).map_err(|e| about(target, e))?;
        }
        None => remove_sidecar(&orig)?,
    }
    Ok(Ledger {
        tool: crate::job::record::MARKER.into(),
        format: LEDGER_FORMAT,
        target: target.to_path_buf(),
        kind: format,
        existed: meta.is_some(),
        mode: attrs.mode,
        owner: attrs.owner,
        created_dirs,
        entries: BTreeMap::new(),
    })
}

fn load_ledger(target: &Path) -> Result<Option<Ledger>> {
    let path = sidecar(target, LEDGER_SUFFIX);
    let Some(bytes) = fsx::read_regular_owned(&path, "an anaconda-ci-auth ledger")? else {
        return Ok(None);
    };
    let ledger: Ledger = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            Kind::Filesystem,
            format!("`{}` is not a valid anaconda-ci-auth ledger", path.display()),
        )
        .cause(e)
        .hint("another version or a damaged file: check the file it sits beside, then remove it by hand")
    })?;
    if ledger.tool != crate::job::record::MARKER || ledger.format != LEDGER_FORMAT || ledger.target != target
    {
        return Err(Error::new(
            Kind::Filesystem,
            format!("`{}` was not written for `{}` by this anaconda-ci-auth version", path.display(), target.display()),
        )
        .hint("finish the jobs that wrote it first, or check the file it sits beside and remove the ledger by hand"));
    }
    Ok(Some(ledger))
}

fn save_ledger(target: &Path, ledger: &Ledger) -> Result<()> {
    let text = Zeroizing::new(
        serde_json::to_vec_pretty(ledger)
            .map_err(|e| Error::internal("could not encode the ledger").cause(e))?,
    );
    fsx::write_durable(&sidecar(target, LEDGER_SUFFIX), &text)
}

fn remove_sidecar(path: &Path) -> Result<()> {
    fsx::remove_own_file(path).map(drop)
}

/// The target as it was before the first job: the saved copy's bytes, and parsed.
struct Original {
    bytes: Zeroizing<Vec<u8>>,
    doc: Doc,
}

/// Reads the saved copy once (it may be megabytes) for both the entries and the final restore.
fn read_original(target: &Path, ledger: &Ledger) -> Result<Original> {
    if !ledger.existed {
        return Ok(Original {
            bytes: Zeroizing::new(Vec::new()),
            doc: Doc::parse(ledger.kind, "", target)?,
        });
    }
    let orig = sidecar(target, ORIG_SUFFIX);
    let bytes = fsx::read_regular_owned(&orig, "an anaconda-ci-auth copy")?.ok_or_else(|| {
        Error::new(
            Kind::Filesystem,
            format!(
                "the saved copy `{}` of `{}` is missing",
                orig.display(),
                target.display()
            ),
        )
        .hint("check the file by hand; the ledger beside it names the jobs that changed it")
    })?;
    let doc = Doc::parse(ledger.kind, &String::from_utf8_lossy(&bytes), &orig)?;
    Ok(Original { bytes, doc })
}

/// Rewrites `target` from the ledger; when no holder is left, restores the original and removes
/// the sidecars (the lock last).
fn reconcile(target: &Path, ledger: &mut Ledger, original: &Original, lock: FileLock) -> Result<()> {
    let current_bytes = fsx::read_regular(target, ledger.kind.role())?;
    let current_text = current_bytes
        .as_ref()
        .map(|b| Zeroizing::new(String::from_utf8_lossy(b).into_owned()))
        .unwrap_or_default();
    let mut doc = Doc::parse(ledger.kind, &current_text, target)?;
    let mut foreign = Vec::new();
    for (entry, m) in &mut ledger.entries {
        m.holders.retain(|h| fsx::exists_as_caller(&h.state));
        // Someone else changed the entry since we wrote it (a new login): it is theirs now.
        if m.written.is_some() && doc.entry(entry) != m.written.as_ref() {
            foreign.push(entry.clone());
            continue;
        }
        let value = m
            .holders
            .last()
            .map(|h| h.value.clone())
            .or_else(|| original.doc.entry(entry).cloned());
        doc.set(entry, value.clone());
        m.written = value;
    }
    for entry in &foreign {
        ledger.entries.remove(entry);
    }
    // While it holds a job's key the file is readable by its owner only; its own mode comes
    // back with the original content.
    let attrs = Attrs {
        mode: Some(ledger.mode.unwrap_or(0o600)),
        owner: ledger.owner,
    };
    if ledger.entries.values().any(|m| !m.holders.is_empty()) {
        let private = Attrs {
            mode: Some(0o600),
            ..attrs
        };
        fsx::write_durable_as(target, doc.render().as_bytes(), private)?;
        return save_ledger(target, ledger);
    }
    // The last holder left: the original comes back byte for byte unless someone else changed
    // the file meanwhile, in which case only our entries are put back.
    if !ledger.existed {
        if doc.is_empty() {
            match fsx::remove_own_file(target) {
                Ok(_) => {}
                Err(_) if current_bytes.is_none() => {}
                Err(e) => return Err(e),
            }
        } else {
            fsx::write_durable_as(target, doc.render().as_bytes(), attrs)?;
        }
    } else {
        if doc.root == original.doc.root {
            fsx::write_durable_as(target, &original.bytes, attrs)?;
        } else {
            fsx::write_durable_as(target, doc.render().as_bytes(), attrs)?;
        }
    }
    remove_sidecar(&sidecar(target, LEDGER_SUFFIX))?;
    remove_sidecar(&sidecar(target, ORIG_SUFFIX))?;
    lock.remove();
    for d in &ledger.created_dirs {
        // Only while empty: anything else in it is not ours.
        fsx::remove_dir_if_empty(d);
    }
    Ok(())
}

#[cfg(all(test, unix))]
#[expect(clippy::unwrap_used, reason = "test helpers fail the test on any error")]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    struct Job {
        state: PathBuf,
    }

    fn job(root: &Path, n: usize) -> Job {
        let dir = root.join(format!("job{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), "{}").unwrap();
        Job {
            state: dir.join("state.json"),
        }
    }

    fn join_as(target: &Path, entry: &str, j: &Job, v: &str) {
        join(target, Format::Keyring, &j.state, |_| {
            vec![(entry.to_owned(), Value::String(v.to_owned()))]
        })
        .unwrap();
    }

    fn none(_: &Doc) -> Entries {
        vec![("anaconda.com".into(), Value::String("x".into()))]
    }

    fn finish(j: &Job) {
        assert!(fsx::remove_own_file(&j.state).unwrap());
    }

    const ORIGINAL: &str = "{\"Anaconda Cloud\": {\"anaconda.com\": \"dXNlcg==\", \"other\": \"eA==\"}, \"svc\": {\"u\": \"p\"}}";

    #[test]
    fn any_cleanup_order_restores_the_original_bytes_and_mode() {
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]] {
            let tmp = tempfile::tempdir().unwrap();
            let target = tmp.path().join("kr").join("keyring");
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, ORIGINAL).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
            let jobs: Vec<Job> = (0..3).map(|n| job(tmp.path(), n)).collect();
            for (n, j) in jobs.iter().enumerate() {
                join_as(&target, "anaconda.com", j, &format!("job{n}"));
            }
            let doc = |t: &Path| Keyring::parse(&std::fs::read_to_string(t).unwrap(), t).unwrap();
            assert_eq!(doc(&target).entry("anaconda.com"), Some("job2"));
            let mut alive = [true; 3];
            for &n in &order {
                leave(&target, &jobs[n].state).unwrap();
                finish(&jobs[n]);
                alive[n] = false;
                if let Some(top) = (0..3).rev().find(|&i| alive[i]) {
                    assert_eq!(
                        doc(&target).entry("anaconda.com"),
                        Some(format!("job{top}").as_str())
                    );
                }
            }
            assert_eq!(std::fs::read_to_string(&target).unwrap(), ORIGINAL);
            let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
            for s in sidecars(&target) {
                assert!(!s.exists(), "{} left behind", s.display());
            }
        }
    }

    #[test]
    fn a_created_keyring_is_removed_with_its_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("a/b/keyring");
        let (j1, j2) = (job(tmp.path(), 1), job(tmp.path(), 2));
        join_as(&target, "anaconda.com", &j1, "one");
        join_as(&target, "example.com", &j2, "two");
        leave(&target, &j1.state).unwrap();
        finish(&j1);
        assert!(target.exists());
        leave(&target, &j2.state).unwrap();
        finish(&j2);
        assert!(!target.exists());
        assert!(!tmp.path().join("a").exists());
    }

    #[test]
    fn a_dead_holder_is_dropped_and_leave_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("keyring");
        std::fs::write(&target, ORIGINAL).unwrap();
        let (j1, j2) = (job(tmp.path(), 1), job(tmp.path(), 2));
        join_as(&target, "anaconda.com", &j1, "one");
        join_as(&target, "anaconda.com", &j2, "two");
        // j2 dies without cleanup: its record is gone.
        finish(&j2);
        leave(&target, &j1.state).unwrap();
        leave(&target, &j1.state).unwrap();
        finish(&j1);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), ORIGINAL);
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let j = job(tmp.path(), 1);
        let err = join(&fifo, Format::Keyring, &j.state, none).unwrap_err();
        assert!(err.message.contains("named pipe"), "{}", err.message);
        let dir = tmp.path().join("dir");
        std::fs::create_dir(&dir).unwrap();
        let err = join(&dir, Format::Keyring, &j.state, none).unwrap_err();
        assert!(err.message.contains("directory"), "{}", err.message);
    }

    #[test]
    fn a_corrupt_keyring_is_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("keyring");
        std::fs::write(&target, "not json").unwrap();
        let j = job(tmp.path(), 1);
        assert!(join(&target, Format::Keyring, &j.state, none).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not json");
        for s in sidecars(&target) {
            assert!(!s.exists());
        }
    }

    #[test]
    fn mamba_entries_merge_and_restore_like_keyring_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join(".mamba/auth/authentication.json");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let original = "{\"repo.anaconda.cloud\": {\"type\": \"CondaToken\", \"token\": \"users-own\"}, \"x.org\": {\"type\": \"BearerToken\", \"token\": \"t\"}}";
        std::fs::write(&target, original).unwrap();
        let (j1, j2) = (job(tmp.path(), 1), job(tmp.path(), 2));
        let entries = |k: &'static str| {
            move |_: &Doc| -> Entries {
                ["repo.anaconda.cloud", "repo.anaconda.com"]
                    .iter()
                    .map(|h| {
                        (
                            (*h).to_owned(),
                            serde_json::json!({"type": "BearerToken", "token": k}),
                        )
                    })
                    .collect()
            }
        };
        join(&target, Format::MambaAuth, &j1.state, entries("one")).unwrap();
        join(&target, Format::MambaAuth, &j2.state, entries("two")).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!(v["repo.anaconda.cloud"]["token"], "two");
        assert_eq!(v["x.org"]["token"], "t");
        leave(&target, &j2.state).unwrap();
        finish(&j2);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!(v["repo.anaconda.com"]["token"], "one");
        leave(&target, &j1.state).unwrap();
        finish(&j1);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), original);
        // A file that holds one kind of entries is not merged into as the other.
        let j3 = job(tmp.path(), 3);
        join(&target, Format::MambaAuth, &j3.state, entries("three")).unwrap();
        assert!(join(&target, Format::Keyring, &j3.state, none).is_err());
        leave(&target, &j3.state).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), original);
    }
}
