//! Careful file operations for secrets: private directories, exclusive creation, atomic replace, locks.
//!
//! Directories are created 0700 and files 0600; new files use `create_new` (O_CREAT|O_EXCL, which
//! also refuses to follow a symlink at the final component), replacements go through a temporary
//! file in the same directory, fsync, and rename. We refuse to work inside a directory that others
//! can write to unless it is sticky (like `/tmp`), and refuse paths that are symlinks.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};

/// Creates `path` as a new private directory (0700). Fails if it exists.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        check_parent(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|e| Error::fs("create directory", path, e))
}

/// Makes an existing directory of ours private (0700), through its descriptor.
pub(crate) fn make_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut opts = OpenOptions::new();
        opts.read(true);
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut opts,
            (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_DIRECTORY).bits(),
        );
        let d = opts.open(dir).map_err(|e| Error::fs("open", dir, e))?;
        d.set_permissions(fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::fs("make private", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates a new private directory named `<prefix><random>` under `parent`.
pub(crate) fn create_unique_dir(parent: &Path, prefix: &str) -> Result<PathBuf> {
    if !parent.exists() {
        create_dir_all_private(parent)?;
    }
    for _ in 0..16 {
        let candidate = parent.join(format!("{prefix}{}", random_hex(6)));
        match create_private_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if candidate.exists() => drop(e),
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        Kind::Filesystem,
        format!("could not create a unique directory in `{}`", parent.display()),
    )
    .hint("remove stale `anaconda-ci-auth-*` directories with `anaconda-ci-auth cleanup --sweep`"))
}

/// Creates `path` and missing parents, each new one 0700.
pub(crate) fn create_dir_all_private(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        create_dir_all_private(parent)?;
    }
    match create_private_dir(path) {
        Err(_) if path.is_dir() => Ok(()),
        other => other,
    }
}

/// Refuses a directory that is a symlink, or that other users can write to without the sticky bit
/// while it belongs to someone else.
pub(crate) fn check_parent(dir: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let mode = meta.mode();
        let sticky = mode & 0o1000 != 0;
        let me = nix::unistd::geteuid().as_raw();
        let ours = meta.uid() == me;
        let refuse = |why: &str| {
            Err(Error::new(
                Kind::Filesystem,
                format!("refusing to write into `{}`: {why}", dir.display()),
            )
            .hint("choose a private directory with --dir, or fix the directory's owner and permissions"))
        };
        if mode & 0o002 != 0 && !sticky {
            return refuse("every user can write to it");
        }
        if mode & 0o020 != 0 && !sticky && !ours {
            return refuse("its group can write to it and it belongs to another user");
        }
        // Its owner could swap our files. Root-owned system directories are trusted; root itself
        // may work in directories of the CI user (container jobs run as root in the runner's dirs).
        if !ours && meta.uid() != 0 && me != 0 && !sticky {
            return refuse("it belongs to another user");
        }
    }
    let _ = meta;
    Ok(())
}

/// Refuses a path whose final component is a symlink.
pub(crate) fn refuse_symlink(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::new(
            Kind::Filesystem,
            format!("refusing to use `{}`: it is a symbolic link", path.display()),
        )
        .hint("point the option at the real file, or remove the link")),
        _ => Ok(()),
    }
}

/// Writes a new private file (0600). Fails if anything exists at `path`, including a symlink.
pub(crate) fn write_new(path: &Path, contents: &[u8]) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path).map_err(|e| Error::fs("create", path, e))?;
    file.write_all(contents)
        .map_err(|e| Error::fs("write", path, e))?;
    file.sync_all().map_err(|e| Error::fs("sync", path, e))
}

/// Atomically replaces (or creates) `path` with `contents`, mode 0600: temporary file in the same
/// directory, then rename. A reader sees the old or the new file, never a partial one.
///
/// No fsync: this is for files of a job directory, which do not outlive the job (and the journal
/// wait would be most of setup's run time). Files that outlive the job use [`write_durable`].
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_replace(path, contents, false)
}

/// Like [`write_atomic`], and also fsyncs the file and its directory: for a keyring that outlives
/// the job, so a crash never leaves it empty or old.
pub(crate) fn write_durable(path: &Path, contents: &[u8]) -> Result<()> {
    write_replace(path, contents, true)
}

fn write_replace(path: &Path, contents: &[u8], durable: bool) -> Result<()> {
    replace(path, contents, durable, None)
}

/// The permission bits and owner a replaced file gets, set on the temporary file's descriptor
/// before the rename: nothing is changed through the path afterwards, where a link swapped in by
/// the directory's owner could redirect it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    /// Permission bits (unix); setuid, setgid and sticky bits are never set.
    pub(crate) mode: Option<u32>,
    /// (uid, gid) (unix; only root can give a file away).
    pub(crate) owner: Option<(u32, u32)>,
}

/// [`write_durable`] with the given mode and owner, for a file that belongs to the user.
pub(crate) fn write_durable_as(path: &Path, contents: &[u8], attrs: Attrs) -> Result<()> {
    replace(path, contents, true, Some(attrs))
}

/// Prefix of our temporary files; [`remove_stale_temps`] removes leftovers of killed runs.
pub(crate) const TEMP_PREFIX: &str = ".anaconda-ci-auth-tmp-";

fn replace(path: &Path, contents: &[u8], durable: bool, attrs: Option<Attrs>) -> Result<()> {
    refuse_symlink(path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_parent(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::fs("create a temporary file in", dir, e))?;
    // Errors name the file being replaced; the temporary file is removed when `tmp` drops.
    tmp.write_all(contents).map_err(|e| Error::fs("write", path, e))?;
    if let Some(attrs) = attrs {
        set_attrs(tmp.as_file(), attrs).map_err(|e| Error::fs("set the mode and owner of", path, e))?;
    }
    if durable {
        tmp.as_file().sync_all().map_err(|e| Error::fs("sync", path, e))?;
    }
    tmp.persist(path)
        .map_err(|e| Error::fs("replace", path, e.error))?;
    if durable && let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Sets owner, then mode, through the open descriptor (fchown, fchmod).
fn set_attrs(file: &File, attrs: Attrs) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        // Only root can give a file away (through the descriptor, so with root's own identity
        // even inside `ActAs`: nothing is looked up by path).
        if let Some((uid, gid)) = attrs.owner
            && nix::unistd::geteuid().is_root()
        {
            let meta = file.metadata()?;
            if (meta.uid(), meta.gid()) != (uid, gid) {
                as_caller(|| std::os::unix::fs::fchown(file, Some(uid), Some(gid)))?;
            }
        }
        if let Some(mode) = attrs.mode {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o777))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (file, attrs);
        Ok(())
    }
}

/// Mode and owner of an open or existing file, for giving a replacement the same.
pub(crate) fn attrs_of(meta: &fs::Metadata) -> Attrs {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Attrs {
            mode: Some(meta.mode() & 0o777),
            owner: Some((meta.uid(), meta.gid())),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Attrs::default()
    }
}

/// What is at `path` when it is to be read and replaced as a regular file: `None` when nothing is
/// there; an error naming the path for a symlink, a directory, a FIFO, a device or a socket.
/// Never opens the path, so a FIFO cannot block.
pub(crate) fn regular_or_absent(path: &Path, role: &str) -> Result<Option<fs::Metadata>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::fs("inspect", path, e)),
    };
    if meta.is_file() {
        return Ok(Some(meta));
    }
    let what = file_kind(&meta);
    Err(Error::new(
        Kind::Filesystem,
        format!(
            "refusing to use `{}` as {role}: it is {what}, not a regular file",
            path.display()
        ),
    )
    .hint("point the option at a regular file (or a path where one can be created)"))
}

fn file_kind(meta: &fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_symlink() {
        return "a symbolic link";
    }
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Reads a regular file without following a symlink or blocking on a FIFO swapped in after
/// [`regular_or_absent`]: opened with O_NOFOLLOW|O_NONBLOCK and checked through the descriptor.
pub(crate) fn read_regular(path: &Path, role: &str) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    Ok(read_regular_meta(path, role)?.map(|(b, _)| b))
}

/// [`read_regular`] with the metadata of the descriptor that was read.
fn read_regular_meta(path: &Path, role: &str) -> Result<Option<(zeroize::Zeroizing<Vec<u8>>, fs::Metadata)>> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use nix::fcntl::OFlag;
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut opts,
            (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits(),
        );
    }
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            // ELOOP: a symlink at the final component.
            regular_or_absent(path, role)?;
            return Err(Error::fs("read", path, e));
        }
    };
    let meta = file.metadata().map_err(|e| Error::fs("inspect", path, e))?;
    if !meta.is_file() {
        return Err(Error::new(
            Kind::Filesystem,
            format!(
                "refusing to use `{}` as {role}: it is {}, not a regular file",
                path.display(),
                file_kind(&meta)
            ),
        )
        .hint("point the option at a regular file (or a path where one can be created)"));
    }
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    std::io::Read::read_to_end(&mut file, &mut buf).map_err(|e| Error::fs("read", path, e))?;
    Ok(Some((buf, meta)))
}

/// [`read_regular`], also requiring that the file read (checked on its descriptor) belongs to
/// the current user.
pub(crate) fn read_regular_owned(path: &Path, role: &str) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let Some((bytes, meta)) = read_regular_meta(path, role)? else {
        return Ok(None);
    };
    if !owned_by_me(&meta) {
        return Err(Error::new(
            Kind::Filesystem,
            format!(
                "`{}` belongs to another user; refusing to trust it",
                path.display()
            ),
        )
        .hint("the file is in use by another user's job: use a file of your own"));
    }
    Ok(Some(bytes))
}

/// Removes our temporary files in `dir` left by a killed run. Call only under the [`FileLock`] that
/// every writer of that directory holds, so none of them is in use.
#[expect(clippy::disallowed_methods, reason = "fsx owns removing files")]
pub(crate) fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // Root gives a replacement its owner before the rename, so a killed root run can leave a
    // temporary file of the file's owner; in a directory only its owner and root can write to
    // (not sticky, not acting as another user), such a file can only be ours.
    let root_here = root_not_acting() && fs::metadata(dir).is_ok_and(|m| !is_sticky(&m));
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        if let Ok(meta) = fs::symlink_metadata(e.path())
            && meta.is_file()
            && (owned_by_me(&meta) || root_here)
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn root_not_acting() -> bool {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().is_root() && ACTING.with(std::cell::Cell::get).is_none()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn is_sticky(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.permissions().mode() & 0o1000 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Removes a regular file of the current user; `Ok(false)` when there is none.
#[expect(clippy::disallowed_methods, reason = "fsx owns removing files")]
pub(crate) fn remove_own_file(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && owned_by_me(&meta) => {
            fs::remove_file(path).map_err(|e| Error::fs("remove", path, e))?;
            Ok(true)
        }
        Ok(_) => Err(Error::new(
            Kind::Filesystem,
            format!(
                "not removing `{}`: not a regular file of the current user",
                path.display()
            ),
        )
        .hint("remove it by hand if it is yours")),
        Err(_) => Ok(false),
    }
}

/// Removes a directory if it is empty; whether it is gone.
#[expect(clippy::disallowed_methods, reason = "fsx owns removing files")]
pub(crate) fn remove_dir_if_empty(path: &Path) -> bool {
    fs::remove_dir(path).is_ok() || !path.exists()
}

/// Reads a file that may hold secrets, refusing symlinks.
pub(crate) fn read_private(path: &Path) -> Result<Option<zeroize::Zeroizing<String>>> {
    refuse_symlink(path)?;
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(zeroize::Zeroizing::new(s))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::fs("read", path, e)),
    }
}

/// The permission bits of a path, as `0600`, for reports.
pub(crate) fn mode_string(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Some(format!("{:04o}", meta.permissions().mode() & 0o7777))
    }
    #[cfg(not(unix))]
    {
        Some(if meta.permissions().readonly() {
            "readonly".into()
        } else {
            "writable".into()
        })
    }
}

/// Whether the path belongs to the current user (the user [`ActAs`] switched to, if any).
pub(crate) fn owned_by_me(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        meta.uid() == acting_uid()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        true
    }
}

#[cfg(unix)]
thread_local! {
    /// The (uid, gid) file operations of this thread run as, when [`ActAs`] switched them.
    static ACTING: std::cell::Cell<Option<(u32, u32)>> = const { std::cell::Cell::new(None) };
}

#[cfg(unix)]
fn acting_uid() -> u32 {
    ACTING
        .with(std::cell::Cell::get)
        .map_or_else(|| nix::unistd::geteuid().as_raw(), |(u, _)| u)
}

/// Root working in a directory another user controls does every file operation there as that
/// user (Linux `setfsuid`/`setfsgid`, this thread only), so a link or directory swapped in by
/// that user can only lead to files the user could change anyway. Restored when dropped.
pub(crate) struct ActAs {
    #[cfg(unix)]
    switched: bool,
}

impl ActAs {
    /// Finds who controls `dir` (the owners of it and its ancestors) and acts as them: nothing
    /// to do when only root (or the caller) owns them; refused when two other users do, or where
    /// the OS cannot switch the file-system identity.
    pub(crate) fn owner_of(dir: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let me = nix::unistd::geteuid().as_raw();
            let mut other: Option<(u32, u32)> = None;
            let absolute = std::path::absolute(dir).map_err(|e| Error::fs("resolve", dir, e))?;
            for ancestor in absolute.ancestors() {
                let Ok(meta) = fs::metadata(ancestor) else {
                    continue;
                };
                if meta.uid() == 0 || meta.uid() == me {
                    continue;
                }
                match other {
                    Some((u, _)) if u != meta.uid() => {
                        return Err(Error::new(
                            Kind::Filesystem,
                            format!(
                                "refusing to work in `{}`: directories of two other users lead to it",
                                dir.display()
                            ),
                        )
                        .hint("run setup as the user who owns the file, or choose a path under one owner"));
                    }
                    _ => other = Some((meta.uid(), meta.gid())),
                }
            }
            let Some((uid, gid)) = other.filter(|_| me == 0) else {
                return Ok(Self { switched: false });
            };
            switch_to(uid, gid, dir)?;
            ACTING.with(|a| a.set(Some((uid, gid))));
            Ok(Self { switched: true })
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            Ok(Self {})
        }
    }
}

/// Whether `path` exists, looked at with the caller's own identity even inside [`ActAs`] (a job's
/// record lives in the caller's private directory, which the acted-as user cannot see). Only
/// existence is learnt; nothing is read or written this way.
pub(crate) fn exists_as_caller(path: &Path) -> bool {
    as_caller(|| fs::symlink_metadata(path).is_ok())
}

/// Runs `f` with the caller's own file-system identity, inside [`ActAs`] or not.
fn as_caller<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some((uid, gid)) = ACTING.with(std::cell::Cell::get) {
        use nix::unistd::{Gid, Uid, setfsgid, setfsuid};
        setfsuid(nix::unistd::geteuid());
        setfsgid(nix::unistd::getegid());
        let out = f();
        setfsgid(Gid::from_raw(gid));
        setfsuid(Uid::from_raw(uid));
        return out;
    }
    f()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn switch_to(uid: u32, gid: u32, _dir: &Path) -> Result<()> {
    use nix::unistd::{Gid, Uid, setfsgid, setfsuid};
    setfsgid(Gid::from_raw(gid));
    setfsuid(Uid::from_raw(uid));
    Ok(())
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn switch_to(_uid: u32, _gid: u32, dir: &Path) -> Result<()> {
    Err(Error::new(
        Kind::Filesystem,
        format!(
            "refusing to work as root in `{}`, which another user controls",
            dir.display()
        ),
    )
    .hint("run setup as the user who owns the file"))
}

impl Drop for ActAs {
    fn drop(&mut self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.switched {
            nix::unistd::setfsuid(nix::unistd::geteuid());
            nix::unistd::setfsgid(nix::unistd::getegid());
        }
        #[cfg(unix)]
        if self.switched {
            ACTING.with(|a| a.set(None));
        }
    }
}

/// How long [`FileLock::acquire`] waits for another process before giving up.
pub(crate) const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// An exclusive lock on a private lock file (0600, so other users cannot take it), held until
/// dropped. Waits at most [`LOCK_WAIT`]; after taking it, checks that the path still names the
/// locked file (a holder may have removed it meanwhile), and starts again if not.
pub(crate) struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            let mut opts = OpenOptions::new();
            opts.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                std::os::unix::fs::OpenOptionsExt::custom_flags(
                    &mut opts,
                    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits(),
                );
            }
            let file = opts
                .open(path)
                .map_err(|e| Error::fs("open the lock file", path, e))?;
            let meta = file.metadata().map_err(|e| Error::fs("inspect", path, e))?;
            if !meta.is_file() || !owned_by_me(&meta) {
                return Err(Error::new(
                    Kind::Filesystem,
                    format!(
                        "refusing to use `{}` as a lock: not a regular file of the current user",
                        path.display()
                    ),
                )
                .hint("remove it by hand after checking that no anaconda-ci-auth job is running"));
            }
            match file.try_lock() {
                Ok(()) => {
                    if same_file(path, &meta) {
                        return Ok(Self {
                            file,
                            path: path.to_path_buf(),
                        });
                    }
                    continue;
                }
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::new(
                        Kind::Filesystem,
                        format!(
                            "another process has held `{}` for {} seconds",
                            path.display(),
                            LOCK_WAIT.as_secs()
                        ),
                    )
                    .hint("another job is changing the same file; try again, or find the process holding the lock"));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::fs("lock", path, e)),
            }
        }
    }

    /// Removes the lock file while still holding it (waiters notice and start again).
    pub(crate) fn remove(self) {
        let _ = remove_own_file(&self.path);
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Whether `path` (not following a link) is the file `meta` describes.
fn same_file(path: &Path, meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        fs::symlink_metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, meta);
        true
    }
}

/// Lowercase hex from the OS random source.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // Fall back to a time-and-pid mix; uniqueness is still enforced by `create_new`.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn private_dir_and_files_have_tight_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = create_unique_dir(tmp.path(), "job-").unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let f = dir.join("a");
        write_new(&f, b"x").unwrap();
        assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_new(&f, b"y").is_err(), "write_new must not replace");
        write_atomic(&f, b"z").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"z");
        assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn refuses_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        fs::write(&target, "orig").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_new(&link, b"x").is_err());
        assert!(write_atomic(&link, b"x").is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "orig");
    }
}
