//! Where skiff keeps its files: `/var/lib/skiff`, or `$SKIFF_ROOT`.
//!
//! For now a `skiff run` unpacks its image into a scratch directory under `tmp/` and
//! removes it when the container ends. The directory's name carries the owning pid, so
//! one left behind by a killed skiff is swept away by the next.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use crate::sys;

pub struct Store {
    root: PathBuf,
}

/// A directory that lives as long as one `skiff run`.
pub struct Scratch {
    path: PathBuf,
    removed: bool,
}

impl Store {
    pub fn open() -> Result<Store> {
        let root = std::env::var_os("SKIFF_ROOT")
            .filter(|r| !r.is_empty())
            .map_or_else(|| PathBuf::from("/var/lib/skiff"), PathBuf::from);
        let store = Store { root };
        fs::create_dir_all(store.tmp())
            .with_context(|| format!("create {}", store.tmp().display()))?;
        store.sweep_abandoned();
        Ok(store)
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn scratch(&self) -> Result<Scratch> {
        let path = self.tmp().join(format!(
            "run-{}-{}",
            std::process::id(),
            &random_id()?[..12]
        ));
        fs::create_dir_all(path.join("rootfs"))
            .with_context(|| format!("create {}", path.display()))?;
        Ok(Scratch {
            path,
            removed: false,
        })
    }

    /// Removes scratch directories whose skiff is gone (killed before it could clean up).
    fn sweep_abandoned(&self) {
        let Ok(entries) = fs::read_dir(self.tmp()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name
                .to_str()
                .and_then(|n| n.strip_prefix("run-"))
                .and_then(|rest| rest.split('-').next());
            if let Some(pid) = owner {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(entry.path()); // best effort: next run tries again
                }
            }
        }
    }
}

impl Scratch {
    pub fn rootfs(&self) -> PathBuf {
        self.path.join("rootfs")
    }

    pub fn remove(mut self) -> Result<()> {
        self.removed = true;
        fs::remove_dir_all(&self.path).with_context(|| format!("remove {}", self.path.display()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.removed {
            let _ = fs::remove_dir_all(&self.path); // an early error is already being reported
        }
    }
}

/// 64 hex digits from the kernel's CSPRNG, as Docker's container IDs.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    sys::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
