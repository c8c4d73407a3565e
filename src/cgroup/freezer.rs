//! The freezer: `pause` stops every process of a container where it stands, without a
//! signal it could see or catch, and `unpause` lets them go on.
//!
//! - **v1**: the `freezer` controller's tree. Writing `FROZEN` to `freezer.state` starts
//!   freezing; the file reads `FREEZING` until every task is stopped, then `FROZEN`.
//!   `THAWED` lets them go.
//! - **v2**: part of the core, no controller to enable: `1` in `cgroup.freeze`, and
//!   `cgroup.events` says `frozen 1` once every process is stopped; `0` thaws.
//!
//! A frozen process does not act on a signal, not even `SIGKILL`, until it is thawed:
//! `kill` and `stop` of a paused container thaw it after sending the signal, as Docker
//! does, so the signal is the first thing its processes see.
//! <https://docs.kernel.org/admin-guide/cgroup-v1/freezer-subsystem.html>
//! <https://docs.kernel.org/admin-guide/cgroup-v2.html#core-interface-files>

use std::time::Duration;

use super::{field, read, write, Cgroup, Version};
use crate::error::{Error, Result};

/// How long a freeze may take before it is given up (and undone): runc's bound.
const TRIES: u32 = 1000;
const PAUSE: Duration = Duration::from_millis(1);

impl Cgroup {
    /// The freezer's file and the words for frozen and thawed in it.
    fn freezer(&self) -> Result<(std::path::PathBuf, [&'static str; 2])> {
        let missing = || Error::invalid("the kernel offers no cgroup freezer here");
        match self.version {
            Version::V1 => Ok((
                self.dir("freezer")
                    .ok_or_else(missing)?
                    .join("freezer.state"),
                ["FROZEN", "THAWED"],
            )),
            Version::V2 => Ok((self.dirs[0].1.join("cgroup.freeze"), ["1", "0"])),
        }
    }

    /// Whether the cgroup was asked to freeze (and has not been thawed since).
    fn frozen(&self) -> bool {
        let Ok((file, [_, thawed])) = self.freezer() else {
            return false;
        };
        read(&file).is_some_and(|state| state.trim() != thawed)
    }

    /// Freezes or thaws; a freeze returns once every process is stopped. A freeze
    /// that does not finish in time is undone, so no container stays half-frozen.
    fn set_frozen(&self, freeze: bool) -> Result<()> {
        let (file, [frozen, thawed]) = self.freezer()?;
        write(&file, if freeze { frozen } else { thawed })?;
        if !freeze {
            return Ok(());
        }
        for _ in 0..TRIES {
            let done = match self.version {
                Version::V1 => read(&file).is_some_and(|state| state.trim() == frozen),
                Version::V2 => field(&self.dirs[0].1.join("cgroup.events"), "frozen") == Some(1),
            };
            if done {
                return Ok(());
            }
            std::thread::sleep(PAUSE);
        }
        let _ = write(&file, thawed);
        Err(Error::invalid(format!(
            "{} did not freeze within a second: thawed again",
            file.display()
        )))
    }
}

/// `pause` (true) or `unpause` (false) container `id`.
pub fn freeze(id: &str, frozen: bool) -> Result<()> {
    super::of_running(id)
        .ok_or_else(|| Error::invalid("it has no cgroup to freeze"))?
        .set_frozen(frozen)
}

/// Whether container `id` is paused.
pub fn is_frozen(id: &str) -> bool {
    Cgroup::of(id).is_some_and(|cgroup| cgroup.frozen())
}
