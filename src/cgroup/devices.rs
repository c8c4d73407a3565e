//! The devices guard: which device nodes a container's processes may open, or make.
//!
//! A device node is a file that names a driver by its type (`c` character, `b` block)
//! and major:minor number (`c 1:3` is /dev/null, `b 8:0` the first disk): whoever opens
//! one talks to the host's hardware, whatever namespaces they are in. So, as Docker
//! does, every container's cgroup lets it open only Docker's short list (null, zero,
//! full, random, urandom, tty, console, ptmx, its ptys `136:*`, tun `10:200`) and the
//! nodes `--device` adds, and make (mknod(2)) any node, which it then cannot open.
//! `--privileged` containers get no guard.
//!
//! - **v1**: the `devices` controller. Writing `a` to `devices.deny` empties the
//!   cgroup's list; each write(2) to `devices.allow` adds one rule: type,
//!   major:minor (`*` is any), access (`r`ead, `w`rite, `m`knod). skiff makes them
//!   through one open(2), which costs more than a write. A new cgroup starts with a
//!   copy of its parent's list, but may never be allowed more than its parent: the
//!   guard cannot live on the shared `skiff/`, which `--privileged` and `--device`
//!   containers share with the rest.
//! - **v2** has no such files. The kernel runs an eBPF program of type
//!   `BPF_PROG_TYPE_CGROUP_DEVICE` attached to the cgroup on every open and mknod of a
//!   node by its processes: it reads `struct bpf_cgroup_dev_ctx { u32 access_type;
//!   u32 major; u32 minor; }` (access in the high 16 bits of the first word: mknod 1,
//!   read 2, write 4; type in the low: block 1, char 2) and returns 1 to allow, 0 to
//!   refuse (EPERM). skiff assembles it here, as runc's `devicefilter` does: the
//!   context into r2–r5, then one block per rule that jumps to the next block on any
//!   mismatch and else returns 1; past the last, 0. bpf(2) `BPF_PROG_LOAD` has the
//!   kernel's verifier check it; `BPF_PROG_ATTACH` hangs it on the cgroup's directory,
//!   which holds it until the cgroup is removed.
//!
//! <https://docs.kernel.org/admin-guide/cgroup-v1/devices.html>
//! <https://docs.kernel.org/admin-guide/cgroup-v2.html#device-controller>
//! <https://docs.kernel.org/bpf/standardization/instruction-set.html>
//! <https://man7.org/linux/man-pages/man2/bpf.2.html>

use std::fmt;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::{Cgroup, Version};
use crate::error::{Context, Error, Result};
use crate::sys;
use crate::trace;

/// Access bits, as the BPF context has them.
const MKNOD: u8 = 1;
const READ: u8 = 2;
const WRITE: u8 = 4;
const ALL: u8 = MKNOD | READ | WRITE;

/// One rule: nodes of `kind` (`b'c'`, `b'b'`, or `b'a'` for both), `None` for any number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    kind: u8,
    major: Option<u32>,
    minor: Option<u32>,
    access: u8,
}

const fn char_rwm(major: u32, minor: u32) -> Rule {
    Rule {
        kind: b'c',
        major: Some(major),
        minor: Some(minor),
        access: ALL,
    }
}

/// Docker's defaults (moby's `oci/defaults.go` with runc's `AllowedDevices`).
const DEFAULT: [Rule; 12] = [
    Rule {
        kind: b'c',
        major: None,
        minor: None,
        access: MKNOD,
    },
    Rule {
        kind: b'b',
        major: None,
        minor: None,
        access: MKNOD,
    },
    char_rwm(1, 3), // null
    char_rwm(1, 5), // zero
    char_rwm(1, 7), // full
    char_rwm(1, 8), // random
    char_rwm(1, 9), // urandom
    char_rwm(5, 0), // tty
    char_rwm(5, 1), // console
    char_rwm(5, 2), // ptmx
    Rule {
        kind: b'c',
        major: Some(136),
        minor: None,
        access: ALL,
    }, // the ptys of /dev/pts
    char_rwm(10, 200), // tun
];

/// v1's form: `c 136:* rwm`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or("*".into(), |n| n.to_string());
        let access: String = [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, letter)| letter)
            .collect();
        let (major, minor) = (number(self.major), number(self.minor));
        write!(f, "{} {major}:{minor} {access}", self.kind as char)
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`, the host's node read as given.
#[derive(Debug, PartialEq, Eq)]
pub struct Device {
    pub host: PathBuf,
    /// Relative to the container's root.
    pub target: PathBuf,
    pub rule: Rule,
}

impl Device {
    /// Docker's reading: a middle part that is only `r`, `w` and `m` is the access.
    pub fn parse(spec: &str) -> Result<Device> {
        let invalid = |why: &str| Error::usage(format!("invalid device {spec:?}: {why}"));
        let parts: Vec<&str> = spec.split(':').collect();
        let (host, target, access) = match parts[..] {
            [host] => (host, host, "rwm"),
            [host, access] if access_bits(access).is_some() => (host, host, access),
            [host, target] => (host, target, "rwm"),
            [host, target, access] => (host, target, access),
            _ => return Err(invalid("too many colons")),
        };
        let access = access_bits(access).ok_or_else(|| invalid("bad permissions"))?;
        let target = container_path(target).ok_or_else(|| invalid("bad container path"))?;
        let meta = fs::metadata(host).with_context(|| format!("--device {host}"))?;
        let kind = match meta.file_type() {
            t if t.is_char_device() => b'c',
            t if t.is_block_device() => b'b',
            _ => return Err(invalid("not a device node")),
        };
        let rule = Rule {
            kind,
            major: Some(libc::major(meta.rdev())),
            minor: Some(libc::minor(meta.rdev())),
            access,
        };
        let host = PathBuf::from(host);
        Ok(Device { host, target, rule })
    }
}

impl Rule {
    /// v1's form, `c 136:* rwm` (`a` for any type), as an OCI bundle's
    /// `linux.resources.devices` becomes (see `oci/spec.rs`).
    pub fn parse(line: &str) -> Result<Rule> {
        let invalid = || Error::invalid(format!("invalid device rule {line:?}"));
        let number = |n: &str| match n {
            "*" => Ok(None),
            n => n.parse().map(Some).map_err(|_| invalid()),
        };
        let fields: Vec<&str> = line.split([' ', ':']).collect();
        let [kind @ ("a" | "b" | "c"), major, minor, access] = fields[..] else {
            return Err(invalid());
        };
        Ok(Rule {
            kind: kind.as_bytes()[0],
            major: number(major)?,
            minor: number(minor)?,
            access: access_bits(access).ok_or_else(invalid)?,
        })
    }
}

/// `r`, `w` and `m`, each at most once, at least one.
fn access_bits(text: &str) -> Option<u8> {
    let mut bits = 0;
    for letter in text.chars() {
        let bit = match letter {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return None,
        };
        (bits & bit == 0).then_some(())?;
        bits |= bit;
    }
    (bits != 0).then_some(bits)
}

/// An absolute path without `..`, outside /proc and /sys, as a path in the root.
fn container_path(path: &str) -> Option<PathBuf> {
    let path = Path::new(path).strip_prefix("/").ok()?;
    let mut components = path.components();
    let first = components.next()?.as_os_str();
    let allowed = first != "proc" && first != "sys";
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (allowed && plain).then(|| path.to_path_buf())
}

/// The rules of a container's guard: `None` with `--privileged`, which has none, and
/// rootless: a v2 guard is a BPF program, which only the host's root may load, and a
/// user namespace can neither make device nodes nor open the host's beyond the user's.
/// `own` are rules in v1's form that come before Docker's defaults (an OCI bundle's).
pub fn rules(privileged: bool, devices: &[String], own: &[String]) -> Result<Option<Vec<Rule>>> {
    if privileged || crate::rootless::active() {
        return Ok(None);
    }
    let mut rules = own
        .iter()
        .map(|line| Rule::parse(line))
        .collect::<Result<Vec<_>>>()?;
    rules.extend(DEFAULT);
    for spec in devices {
        rules.push(Device::parse(spec)?.rule);
    }
    Ok(Some(rules))
}

/// Puts the guard on a new cgroup, before any process is in it.
pub fn guard(cgroup: &Cgroup, rules: &[Rule]) -> Result<()> {
    trace::step("the devices guard: it may open only Docker's default nodes and --device's");
    if cgroup.version == Version::V2 {
        let dir = &cgroup.dirs[0].1;
        let dir = fs::File::open(dir).with_context(|| format!("open {}", dir.display()))?;
        let program = sys::bpf_prog_load_device(&program(rules))?;
        return sys::bpf_prog_attach_device(&dir, &program);
    }
    let Some(dir) = cgroup.dir("devices") else {
        trace::step("no devices controller in this kernel: no guard");
        return Ok(());
    };
    super::write(&dir.join("devices.deny"), "a")?;
    let allow = dir.join("devices.allow");
    let mut file = super::open_to_write(&allow)?;
    for rule in rules {
        super::write_to(&mut file, &allow, &rule.to_string())?;
    }
    Ok(())
}

/// One eBPF instruction, as `struct bpf_insn` lies in (little-endian) memory.
fn insn(code: u8, dst: u8, src: u8, off: usize, imm: i64) -> u64 {
    // Offsets count forward within a short program; numbers fit their fields.
    u64::from(code)
        | u64::from(dst | src << 4) << 8
        | (off as u64) << 16
        | (imm as u32 as u64) << 32
}

const LOAD_WORD: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
const MOVE: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X: dst = src (32 bits)
const AND: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K: dst &= imm
const SHIFT_RIGHT: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K: dst >>= imm
const JUMP_UNLESS: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K: if dst != imm, skip off
const SET: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K: dst = imm
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT: return r0

/// The guard's program: allow (1) if any rule matches, else refuse (0).
fn program(rules: &[Rule]) -> Vec<u64> {
    let mut program = vec![
        insn(LOAD_WORD, 2, 1, 0, 0), // r2 = access_type
        insn(MOVE, 3, 2, 0, 0),
        insn(SHIFT_RIGHT, 3, 0, 0, 16), // r3 = the access asked for
        insn(AND, 2, 0, 0, 0xffff),     // r2 = the node's type
        insn(LOAD_WORD, 4, 1, 4, 0),    // r4 = major
        insn(LOAD_WORD, 5, 1, 8, 0),    // r5 = minor
    ];
    for rule in rules {
        // (condition register, value to match): each mismatch skips to the next rule.
        let mut tests = match rule.kind {
            b'a' => vec![],
            b'b' => vec![(2, 1)],
            _ => vec![(2, 2)],
        };
        if rule.access != ALL {
            // r1 = what is asked beyond the rule's access: it must be nothing.
            program.push(insn(MOVE, 1, 3, 0, 0));
            program.push(insn(AND, 1, 0, 0, i64::from(!rule.access & ALL)));
            tests.insert(0, (1, 0));
        }
        tests.extend(rule.major.map(|major| (4, i64::from(major))));
        tests.extend(rule.minor.map(|minor| (5, i64::from(minor))));
        let skip = tests.len() + 2; // past the other tests, and the 2 that allow
        for (i, (register, value)) in tests.into_iter().enumerate() {
            program.push(insn(JUMP_UNLESS, register, 0, skip - 1 - i, value));
        }
        program.extend([insn(SET, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0)]);
    }
    program.extend([insn(SET, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]);
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_as_dockers_devices_list() {
        let lines: Vec<String> = DEFAULT.iter().map(Rule::to_string).collect();
        assert_eq!(lines[..3], ["c *:* m", "b *:* m", "c 1:3 rwm"]);
        assert_eq!(lines[10], "c 136:* rwm");
    }

    #[test]
    fn device_specs_read_as_dockers() {
        let null = Device::parse("/dev/null").unwrap();
        assert_eq!(null.target, PathBuf::from("dev/null"));
        assert_eq!(null.rule, char_rwm(1, 3));
        let mine = Device::parse("/dev/null:/dev/mine:rw").unwrap();
        assert_eq!(mine.target, PathBuf::from("dev/mine"));
        assert_eq!(mine.rule.to_string(), "c 1:3 rw");
        assert_eq!(
            Device::parse("/dev/zero:r").unwrap().rule.to_string(),
            "c 1:5 r"
        );
        for spec in [
            "/dev/null:/dev/x:rx",
            "/dev/null:/dev/x:rr",
            "/dev/null:dev/x",
            "/dev/null:/proc/x",
            "/dev/null:/dev/../x",
            "/dev/null:/a:/b:rw",
            "/etc/hostname",
        ] {
            let err = Device::parse(spec).unwrap_err();
            assert!(err.to_string().contains("invalid device"), "{spec}: {err}");
        }
        assert!(Device::parse("/dev/no-such-node").is_err());
    }

    #[test]
    fn rules_read_in_v1s_form() {
        let rule = Rule::parse("c 136:* rwm").unwrap();
        assert_eq!(rule, DEFAULT[10]);
        assert_eq!(Rule::parse("a *:* rwm").unwrap().to_string(), "a *:* rwm");
        for bad in ["c 1:3", "x 1:3 r", "c 1:3 rx", "c one:3 r"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
        // Any type: no test of the type, so 6 to load, 2 to allow, 2 to refuse.
        assert_eq!(program(&[Rule::parse("a *:* rwm").unwrap()]).len(), 10);
    }

    #[test]
    fn each_rule_is_a_block_that_skips_to_the_next_on_any_mismatch() {
        let read_null = Rule {
            access: READ,
            ..char_rwm(1, 3)
        };
        let program = program(&[read_null]);
        // 6 to load the context, 2 to mask the access, 4 tests, allow, refuse.
        assert_eq!(program.len(), 6 + 2 + 4 + 2 + 2);
        let jumps: Vec<(u64, u64, i64)> = program[8..12]
            .iter()
            .map(|i| ((i >> 8) & 0xf, (i >> 16) & 0xffff, (i >> 32) as i32 as i64))
            .collect();
        assert_eq!(jumps, [(1, 5, 0), (2, 4, 2), (4, 3, 1), (5, 2, 3)]);
        assert_eq!(program[14], 0xb7, "past the block: r0 = 0");
        assert_eq!(program[9] & 0xff, 0x55);
    }
}
