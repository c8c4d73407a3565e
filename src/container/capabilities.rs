//! Capabilities: root's powers, split into about forty pieces. A container's root keeps
//! only Docker's default dozen (chown, kill, setuid, binding low ports, …) and loses the
//! rest: `CAP_SYS_ADMIN` (mount, namespaces), `CAP_SYS_MODULE`, `CAP_SYS_RAWIO`,
//! `CAP_SYS_PTRACE`, … They go from the *bounding set* too, so no execve(2) of a setuid
//! or file-capability binary in the image can win them back.
//!
//! One difference from Docker: `CAP_MKNOD` goes as well. Docker keeps it because its
//! devices cgroup refuses to open the host's devices; skiff has no devices cgroup, and
//! with `CAP_MKNOD` a container could make `/dev/kmsg` or a disk node and read the host.
//! <https://man7.org/linux/man-pages/man7/capabilities.7.html>
//! <https://github.com/moby/moby/blob/master/oci/caps/defaults.go>

use crate::error::Result;
use crate::sys;
use crate::trace;

/// Docker's defaults, without `CAP_MKNOD` (27).
const KEEP: [u32; 13] = [
    0,  // CAP_CHOWN
    1,  // CAP_DAC_OVERRIDE
    3,  // CAP_FOWNER
    4,  // CAP_FSETID
    5,  // CAP_KILL
    6,  // CAP_SETGID
    7,  // CAP_SETUID
    8,  // CAP_SETPCAP
    10, // CAP_NET_BIND_SERVICE
    13, // CAP_NET_RAW
    18, // CAP_SYS_CHROOT
    29, // CAP_AUDIT_WRITE
    31, // CAP_SETFCAP
];

/// Drops every capability not in [`KEEP`], from every set, for good.
pub fn drop_to_defaults() -> Result<()> {
    trace::step(
        "drop all capabilities but Docker's default dozen (and CAP_MKNOD), bounding set included",
    );
    for capability in (0..64).filter(|c| !KEEP.contains(c)) {
        match sys::drop_bounding_capability(capability) {
            // Past the kernel's last capability (cap_last_cap): nothing more to drop.
            Err(err) if err.errno() == Some(libc::EINVAL) => break,
            // Without CAP_SETPCAP (a stricter sandbox around skiff) it already bounds us.
            Err(err) if err.errno() == Some(libc::EPERM) => {
                trace::step(&format!(
                    "the bounding set is not ours to change here ({err})"
                ));
                break;
            }
            other => other?,
        }
    }
    let mask = KEEP
        .iter()
        .fold(0u64, |mask, capability| mask | 1 << capability);
    sys::capset(mask)
}
