//! A container's files, from outside it: what `cp` and `export` read and write.
//!
//! Paths inside a container mean something only there: `/etc` may be a symlink to `/`,
//! a directory may become a symlink to `../../..` while we copy. So no path of the
//! container is ever looked up from the host. A child process makes the container's
//! root its own `/` with chroot(2) and does the work there; the kernel then resolves
//! every symlink and `..` inside it (path_resolution(7): `..` at the root stays at the
//! root), however the container's files change meanwhile. Docker does the same
//! (`chrootarchive`, after CVE-2018-15664 showed a check-then-use race in `docker cp`).
//!
//! - A running container's root is `/proc/PID/root` of its PID 1 (proc(5)): its mount
//!   namespace's view, volumes included, as `docker cp` sees it.
//! - A stopped one has no root mounted: the child mounts its overlay in a mount
//!   namespace of its own (mount_namespaces(7)), read-only unless `cp` writes into it;
//!   read-only, the container's upper dir is simply the top lower layer. `export`
//!   always reads it this way, so a running container's volumes are left out.
//!
//! Archives coming in are unpacked with the rules of image layers (`image::layer`):
//! no `..`, no absolute escape, no host devices.
//!
//! A container with a user namespace of its own (`--userns=auto`, `--uidmap`) stores
//! what it makes under host IDs (its root is 1000000000, say). Seen from the host, its
//! files are mapped back through its maps before they go into an archive (`Owners`),
//! so `cp` and `export` show the container's IDs, as Docker's daemon does with
//! userns-remap; writing into it, the child joins that namespace too (setns(2)), so
//! the kernel stores the archive's owners as the container's.
//! <https://man7.org/linux/man-pages/man2/chroot.2.html>
//! <https://man7.org/linux/man-pages/man5/proc.5.html>
//! <https://docs.docker.com/reference/cli/docker/container/cp/>

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use tar::{Builder, Header, HeaderMode};

use super::id_map::Maps;
use super::{process, rootfs, RootFs};
use crate::error::{Context, Error, Result};
use crate::image::changes::{self, sorted_names};
use crate::image::layer::unpack_placed;
use crate::sys;

/// procfs and sysfs: files that say they are empty and are not, and some whose read
/// blocks (/proc/kmsg). `cp` never descends into them, as Docker cannot copy them.
const PSEUDO_FILESYSTEMS: [i64; 2] = [0x9fa0, 0x6265_6572];

/// How the child reaches the container's root.
pub enum Root<'a> {
    /// Through its running PID 1.
    Running(i32),
    /// Its own overlay, mounted apart; writable or not.
    Mounted(&'a RootFs, bool),
}

/// Whose an archive's files are said to be.
#[derive(Clone, Copy)]
pub enum Owners<'a> {
    /// Their own, as this process sees them.
    Kept,
    /// This uid and gid, every one.
    All(u32, u32),
    /// Host IDs in a container's ranges, mapped back to its own.
    Inside(&'a Maps),
}

/// A child process working inside a container's root.
pub struct Visit {
    pid: libc::pid_t,
    errors: File,
}

/// Forks a child that enters `root` and runs `work` there, handing it its end of a
/// data pipe: the child writes when `to_parent`, else reads. Returns the visit and the
/// parent's end. The child's failure comes back through a pipe of its own.
pub fn visit(
    root: Root,
    to_parent: bool,
    work: impl FnOnce(File) -> Result<()>,
) -> Result<(Visit, File)> {
    let (errors, report) = sys::pipe()?;
    let (read, write) = sys::pipe()?;
    let (ours, theirs) = if to_parent {
        (read, write)
    } else {
        (write, read)
    };
    match sys::fork()? {
        Some(pid) => Ok((Visit { pid, errors }, ours)),
        None => {
            drop((errors, ours)); // or the other side never sees the end
            let done = enter(root, !to_parent).and_then(|()| work(theirs));
            let _ = io::stdout().flush();
            if let Err(err) = &done {
                process::report_failure(report, err);
            }
            sys::exit_now(i32::from(done.is_err()))
        }
    }
}

impl Visit {
    /// Waits for the child; its error, if it had one.
    pub fn finish(self) -> Result<()> {
        let outcome = process::exec_outcome(self.errors);
        sys::wait_for_exit(self.pid)?;
        outcome
    }
}

/// Into a running container's user namespace, if it has one, when `writing` into it;
/// rootless always (`cp` stays in the host's, where the user's capabilities over the
/// container's namespace are what reaches its root: `rootless`).
fn enter(root: Root, writing: bool) -> Result<()> {
    let rootless = crate::rootless::active();
    let (path, userns) = match root {
        Root::Running(pid) => (
            PathBuf::from(format!("/proc/{pid}/root")),
            own_userns(pid).filter(|_| writing || rootless),
        ),
        Root::Mounted(fs, writable) => (rootfs::mount_apart(fs, writable)?, None),
    };
    if let Some(userns) = &userns {
        sys::setns(userns, libc::CLONE_NEWUSER, "user namespace")?;
    }
    sys::chroot(&path)?;
    sys::chdir(Path::new("/"))?;
    if userns.is_some() && !rootless {
        // Its IDs are still the host root's, which the namespace does not map: it
        // becomes the namespace's root, so that what it makes is that root's.
        sys::setgroups(&[])?;
        sys::setgid(0)?;
        sys::setuid(0)?;
    }
    Ok(())
}

/// Process `pid`'s user namespace, unless it is ours.
fn own_userns(pid: i32) -> Option<File> {
    let theirs = File::open(format!("/proc/{pid}/ns/user")).ok()?;
    let (ours, meta) = (
        fs::metadata("/proc/self/ns/user").ok()?,
        theirs.metadata().ok()?,
    );
    ((ours.dev(), ours.ino()) != (meta.dev(), meta.ino())).then_some(theirs)
}

/// Writes `src` as a tar stream whose first entry is `src` itself, named by its last
/// component (`.` for the root), its contents below it. `follow`: `src` itself may be a
/// symlink to follow (`-L`); symlinks below it are always copied as links. `owners`
/// says whose each entry is.
pub fn archive(src: &str, follow: bool, owners: Owners, out: &mut dyn Write) -> Result<()> {
    let path = Path::new(src);
    let meta = match follow {
        true => fs::metadata(path),
        false => fs::symlink_metadata(path),
    }
    .with_context(|| format!("lstat {src}"))?;
    let name = path.components().rev().find_map(|part| match part {
        Component::Normal(name) => Some(name),
        _ => None,
    });
    let mut tar = Builder::new(out);
    let mut walk = Walk {
        tar: &mut tar,
        owners,
    };
    walk.append(path, Path::new(name.unwrap_or(".".as_ref())), &meta, 0)?;
    tar.into_inner().context("write archive")?.flush()?;
    Ok(())
}

/// `dyn`: the same tar writer as `skiff save`'s, one copy in the binary.
struct Walk<'a, 'b> {
    tar: &'a mut Builder<&'b mut dyn Write>,
    owners: Owners<'a>,
}

impl Walk<'_, '_> {
    /// `parent_dev`: the device of the directory holding `path` (0 for none).
    fn append(&mut self, path: &Path, name: &Path, meta: &Metadata, parent_dev: u64) -> Result<()> {
        let mut header = Header::new_gnu();
        header.set_metadata_in_mode(meta, HeaderMode::Complete);
        let owner = match self.owners {
            Owners::Kept => None,
            Owners::All(uid, gid) => Some((uid, gid)),
            Owners::Inside(maps) => Some(maps.inside(meta.uid(), meta.gid())),
        };
        if let Some((uid, gid)) = owner {
            header.set_uid(uid.into());
            header.set_gid(gid.into());
        }
        changes::append(self.tar, &mut header, path, name, meta)?;
        match meta.is_dir() {
            true => self.children(path, name, meta.dev(), meta.dev() != parent_dev),
            false => Ok(()),
        }
    }

    /// A directory's entries, in name order; none from /proc or /sys, which are only
    /// looked for where a filesystem starts (`mounted`).
    fn children(&mut self, path: &Path, name: &Path, dev: u64, mounted: bool) -> Result<()> {
        let what = || format!("read {}", path.display());
        if mounted {
            let dir = File::open(path).with_context(what)?;
            if PSEUDO_FILESYSTEMS.contains(&sys::filesystem_type(&dir)?) {
                return Ok(());
            }
        }
        for child in sorted_names(path)? {
            let child_path = path.join(&child);
            let child_meta = fs::symlink_metadata(&child_path).with_context(what)?;
            self.append(&child_path, &name.join(&child), &child_meta, dev)?;
        }
        Ok(())
    }
}

/// Where a copy lands, by Docker's rules for `docker cp SRC DEST`.
#[derive(Debug, PartialEq)]
pub struct Placement {
    /// The existing directory the copy goes into.
    pub dir: PathBuf,
    /// The name the copied file or directory takes there; `None`: the source's own
    /// (a name into a directory), or no name at all for `SRC/.` (its contents only).
    pub name: Option<OsString>,
    pub contents_only: bool,
}

/// Decides from `dest` as given, whether it is a directory (`None`: it does not exist),
/// whether the source is one, and whether the source ends in `/.`.
pub fn place(
    dest: &str,
    dest_is_dir: Option<bool>,
    src_is_dir: bool,
    dot: bool,
) -> Result<Placement> {
    let path = Path::new(dest);
    let into = |contents_only| Placement {
        dir: path.to_path_buf(),
        name: None,
        contents_only,
    };
    match dest_is_dir {
        Some(true) => return Ok(into(src_is_dir && dot)),
        Some(false) if src_is_dir => {
            return Err(Error::invalid(format!(
                "cannot copy a directory to a file: {dest}"
            )))
        }
        None if dest.ends_with('/') && !src_is_dir => {
            return Err(Error::invalid(format!(
                "destination directory {dest} must exist"
            )))
        }
        _ => {}
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(into(src_is_dir && dot));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    Ok(Placement {
        dir: dir.to_path_buf(),
        name: Some(name.to_os_string()),
        contents_only: false,
    })
}

/// Unpacks an archive from [`archive`] to `dest` (Docker's rules, [`place`]); `dot`:
/// the source was `DIR/.`. Paths resolve from this process's `/` (the container's, or
/// the host's for a copy out).
pub fn unpack(input: &mut dyn Read, dest: &str, dot: bool) -> Result<()> {
    let dest_is_dir = match fs::metadata(dest) {
        Ok(meta) => Some(meta.is_dir()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::from(e).context(format!("stat {dest}"))),
    };
    let mut placed: Option<(Placement, PathBuf)> = None;
    let base = std::env::current_dir()?;
    unpack_placed(input, Path::new("/"), &mut |name, is_dir| {
        let (placement, first) = match &placed {
            Some(placed) => placed,
            None => {
                let placement = place(dest, dest_is_dir, is_dir, dot)?;
                if !fs::metadata(&placement.dir).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::invalid(format!("no such directory: {dest}")));
                }
                let first = name.components().filter(|c| *c != Component::CurDir);
                placed.insert((placement, first.collect()))
            }
        };
        let rest = name
            .strip_prefix(first)
            .map_err(|_| Error::invalid("invalid copy source content"))?;
        let top = match (&placement.name, placement.contents_only) {
            (Some(name), _) => PathBuf::from(name),
            (None, true) => PathBuf::new(),
            (None, false) => first.clone(),
        };
        Ok(base.join(&placement.dir).join(top).join(rest))
    })
}

/// Unpacks a plain tar stream (`cp - CONTAINER:DIR`) into the directory `dest`.
pub fn unpack_into(input: &mut dyn Read, dest: &str) -> Result<()> {
    if !fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
        return Err(Error::invalid(format!(
            "destination \"{dest}\" must be a directory"
        )));
    }
    let dir = Path::new(dest).to_path_buf();
    // Docker joins even an absolute name (or hard link target) to the directory.
    unpack_placed(input, Path::new("/"), &mut |name, _| {
        Ok(dir.join(name.strip_prefix("/").unwrap_or(name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(dir: &str, name: Option<&str>, contents_only: bool) -> Placement {
        Placement {
            dir: dir.into(),
            name: name.map(OsString::from),
            contents_only,
        }
    }

    #[test]
    fn placement_follows_docker_cp() {
        // A file: into an existing directory, over a file, or under a new name.
        assert_eq!(
            place("/d", Some(true), false, false).unwrap(),
            placed("/d", None, false)
        );
        assert_eq!(
            place("/d/f", Some(false), false, false).unwrap(),
            placed("/d", Some("f"), false)
        );
        assert_eq!(
            place("new", None, false, false).unwrap(),
            placed(".", Some("new"), false)
        );
        // A directory: into an existing one, its contents with `/.`, or as a new one.
        assert_eq!(
            place("/d", Some(true), true, false).unwrap(),
            placed("/d", None, false)
        );
        assert_eq!(
            place("/d", Some(true), true, true).unwrap(),
            placed("/d", None, true)
        );
        assert_eq!(
            place("/n/", None, true, true).unwrap(),
            placed("/", Some("n"), false)
        );
        let errors = [
            place("/f", Some(false), true, false),
            place("/n/", None, false, false),
        ];
        let texts: Vec<String> = errors
            .into_iter()
            .map(|e| e.unwrap_err().to_string())
            .collect();
        assert_eq!(
            texts,
            [
                "cannot copy a directory to a file: /f",
                "destination directory /n/ must exist"
            ]
        );
    }
}
