//! `docker run`'s resource flags, in Docker's names and units, and the cgroup files
//! that enforce each of them on v1 and on v2.
//!
//! | flag                   | v1 file (controller)              | v2 file                 |
//! |------------------------|-----------------------------------|-------------------------|
//! | `--memory`             | memory.limit_in_bytes             | memory.max              |
//! | `--memory-swap`        | memory.memsw.limit_in_bytes       | memory.swap.max         |
//! | `--memory-reservation` | memory.soft_limit_in_bytes        | memory.low              |
//! | `--cpus`               | cpu.cfs_quota_us / cfs_period_us  | cpu.max                 |
//! | `--cpu-shares`         | cpu.shares                        | cpu.weight              |
//! | `--cpuset-cpus`        | cpuset.cpus                       | cpuset.cpus             |
//! | `--pids-limit`         | pids.max                          | pids.max                |
//!
//! An OCI bundle's `linux.resources` reaches further, into fields Docker's API has
//! (`CpuPeriod`, `CpuQuota`, `CpusetMems`, `CpuRealtimePeriod`, `CpuRealtimeRuntime`,
//! `MemorySwappiness`, `KernelMemory`, `KernelMemoryTCP`, `OomKillDisable`) and that
//! are written as given: v1's cpu.cfs_period_us and cfs_quota_us (v2: cpu.max),
//! cpuset.mems, cpu.rt_period_us and rt_runtime_us, memory.swappiness,
//! memory.kmem.limit_in_bytes (which newer kernels, 6.18 here, accept and ignore),
//! memory.kmem.tcp.limit_in_bytes and memory.oom_control. v2 has cpu.max and
//! cpuset.mems; none of the others (`oci/resources.rs` refuses them there).
//!
//! `--memory-swap` counts memory *plus* swap (v1's memsw), while v2's `memory.swap.max`
//! counts swap alone, so v2 gets the difference. Left unset beside `--memory`, it is
//! twice `--memory`, as Docker makes it. v2's `cpu.weight` (1–10000, default 100)
//! replaces v1's `cpu.shares` (2–262144, default 1024) by runc's linear mapping.
//! <https://docs.docker.com/engine/containers/resource_constraints/>
//! <https://docs.kernel.org/admin-guide/cgroup-v2.html#cpu-interface-files>

use miniserde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::units;

/// The scheduling period for `--cpus`, as Docker sets it: 100 ms.
const CPU_PERIOD_US: i64 = 100_000;
const NANOS_PER_CPU: i64 = 1_000_000_000;
/// Docker refuses memory limits under 6 MiB: nothing starts in less.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// cpu.shares' range in the kernel.
const SHARES: (i64, i64) = (2, 262_144);

/// The flags `run` and `create` hand to [`Limits::set`].
pub const FLAGS: [&str; 8] = [
    "-m",
    "--memory",
    "--memory-swap",
    "--memory-reservation",
    "--cpus",
    "--cpu-shares",
    "--cpuset-cpus",
    "--pids-limit",
];

/// A container's resource limits, kept in its config so that `start` applies them
/// again. `None` is "not limited"; sizes are bytes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<i64>,
    /// Memory plus swap; -1 is unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// `--cpus` in billionths of a CPU (Docker's `NanoCpus`).
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<i64>,
    pub cpuset_cpus: Option<String>,
    /// 0 or less is unlimited.
    pub pids_limit: Option<i64>,
    /// The scheduling period and the quota in it, in µs, when not from `nano_cpus`.
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_mems: Option<String>,
    /// Real-time tasks' period and their share of it, in µs (v1 only).
    pub cpu_rt_period: Option<i64>,
    pub cpu_rt_runtime: Option<i64>,
    /// These four: v1 only.
    pub memory_swappiness: Option<i64>,
    pub kernel_memory: Option<i64>,
    pub kernel_memory_tcp: Option<i64>,
    pub oom_kill_disable: Option<bool>,
}

/// One file to write in the container's cgroup: (controller, file, value).
pub type Setting = (&'static str, &'static str, String);

impl Limits {
    /// Takes the value of one of [`FLAGS`].
    pub fn set(&mut self, flag: &str, value: &str) -> Result<()> {
        match flag {
            "-m" | "--memory" => self.memory = Some(bytes(flag, value)?).filter(|&m| m > 0),
            "--memory-swap" if value == "-1" => self.memory_swap = Some(-1),
            "--memory-swap" => self.memory_swap = Some(bytes(flag, value)?).filter(|&m| m > 0),
            "--memory-reservation" => {
                self.memory_reservation = Some(bytes(flag, value)?).filter(|&m| m > 0)
            }
            "--cpus" => self.nano_cpus = Some(nano_cpus(value)?).filter(|&n| n > 0),
            "--cpu-shares" => {
                let shares = integer(flag, value)?;
                self.cpu_shares = (shares > 0).then(|| shares.clamp(SHARES.0, SHARES.1));
            }
            "--cpuset-cpus" => self.cpuset_cpus = Some(cpu_list(value)?),
            "--pids-limit" => self.pids_limit = Some(integer(flag, value)?),
            other => return Err(Error::usage(format!("{other} is not a resource limit"))),
        }
        Ok(())
    }

    /// Docker's checks between the flags, and against this machine's CPUs.
    /// `cpus` counts the CPUs available, asked only if `--cpus` needs it.
    pub fn validate(&self, cpus: impl FnOnce() -> usize) -> Result<()> {
        let memory = self.memory.unwrap_or(0);
        if memory > 0 && memory < MIN_MEMORY {
            return Err(Error::usage("minimum memory limit allowed is 6MB"));
        }
        match self.memory_swap {
            Some(swap) if swap > 0 && memory == 0 => {
                return Err(Error::usage(
                    "you should always set the memory limit when using a memoryswap limit",
                ))
            }
            Some(swap) if swap > 0 && swap < memory => {
                return Err(Error::usage(
                    "minimum memoryswap limit should be larger than memory limit",
                ))
            }
            _ => {}
        }
        if memory > 0 && self.memory_reservation.is_some_and(|r| r > memory) {
            return Err(Error::usage(
                "minimum memory limit can not be less than memory reservation limit",
            ));
        }
        let Some(nano_cpus) = self.nano_cpus else {
            return Ok(());
        };
        let cpus = cpus();
        if nano_cpus > cpus as i64 * NANOS_PER_CPU {
            return Err(Error::usage(format!(
                "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self == &<Limits as Default>::default()
    }

    /// The flags that are set, for messages: `--memory, --cpus`.
    pub fn flags(&self) -> String {
        let set = [
            ("--memory", self.memory.is_some()),
            ("--memory-swap", self.memory_swap.is_some()),
            ("--memory-reservation", self.memory_reservation.is_some()),
            ("--cpus", self.nano_cpus.is_some()),
            ("--cpu-shares", self.cpu_shares.is_some()),
            ("--cpuset-cpus", self.cpuset_cpus.is_some()),
            ("--pids-limit", self.pids_limit.is_some()),
            ("--cpu-period", self.cpu_period.is_some()),
            ("--cpu-quota", self.cpu_quota.is_some()),
            ("--cpuset-mems", self.cpuset_mems.is_some()),
            ("--cpu-rt-period", self.cpu_rt_period.is_some()),
            ("--cpu-rt-runtime", self.cpu_rt_runtime.is_some()),
            ("--memory-swappiness", self.memory_swappiness.is_some()),
            ("--kernel-memory", self.kernel_memory.is_some()),
            ("--kernel-memory-tcp", self.kernel_memory_tcp.is_some()),
            ("--oom-kill-disable", self.oom_kill_disable.is_some()),
        ];
        let names: Vec<&str> = set.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// Memory plus swap: as asked, or Docker's default of twice the memory.
    fn memory_and_swap(&self) -> Option<i64> {
        match (self.memory, self.memory_swap) {
            (_, Some(swap)) => Some(swap),
            (Some(memory), None) => Some(2 * memory),
            (None, None) => None,
        }
    }

    /// The cgroup v1 files, in an order the kernel accepts (memsw only once the
    /// memory limit under it is set, the period before the quota).
    pub fn v1(&self) -> Vec<Setting> {
        let number = |n: Option<i64>| n.map(|n| n.to_string());
        let (quota, period) = self.cpu_max();
        let files = [
            ("memory", "memory.limit_in_bytes", number(self.memory)),
            (
                "memory",
                "memory.memsw.limit_in_bytes",
                number(self.memory_and_swap()),
            ),
            (
                "memory",
                "memory.soft_limit_in_bytes",
                number(self.memory_reservation),
            ),
            (
                "memory",
                "memory.kmem.limit_in_bytes",
                number(self.kernel_memory),
            ),
            (
                "memory",
                "memory.kmem.tcp.limit_in_bytes",
                number(self.kernel_memory_tcp),
            ),
            (
                "memory",
                "memory.swappiness",
                number(self.memory_swappiness),
            ),
            (
                "memory",
                "memory.oom_control",
                self.oom_kill_disable.map(|d| u8::from(d).to_string()),
            ),
            ("cpu", "cpu.rt_period_us", number(self.cpu_rt_period)),
            ("cpu", "cpu.rt_runtime_us", number(self.cpu_rt_runtime)),
            ("cpu", "cpu.cfs_period_us", number(period)),
            ("cpu", "cpu.cfs_quota_us", number(quota)),
            ("cpu", "cpu.shares", number(self.cpu_shares)),
        ];
        let mut out: Vec<Setting> = files
            .into_iter()
            .filter_map(|(controller, file, value)| Some((controller, file, value?)))
            .collect();
        self.shared(&mut out);
        out
    }

    /// The cgroup v2 files.
    pub fn v2(&self) -> Vec<Setting> {
        let mut out: Vec<Setting> = Vec::new();
        if let Some(memory) = self.memory {
            out.push(("memory", "memory.max", memory.to_string()));
        }
        match (self.memory_and_swap(), self.memory) {
            (Some(-1), _) => out.push(("memory", "memory.swap.max", "max".into())),
            (Some(both), Some(memory)) => {
                out.push(("memory", "memory.swap.max", (both - memory).to_string()))
            }
            _ => {}
        }
        if let Some(reservation) = self.memory_reservation {
            out.push(("memory", "memory.low", reservation.to_string()));
        }
        if let (quota, Some(period)) = self.cpu_max() {
            let quota = quota
                .filter(|q| *q > 0)
                .map_or("max".into(), |q| q.to_string());
            out.push(("cpu", "cpu.max", format!("{quota} {period}")));
        }
        if let Some(shares) = self.cpu_shares {
            // runc's mapping: 2 → 1, 1024 → 39, 262144 → 10000.
            let weight = 1 + ((shares - 2) * 9999) / 262_142;
            out.push(("cpu", "cpu.weight", weight.to_string()));
        }
        self.shared(&mut out);
        out
    }

    /// The files v1 and v2 spell alike.
    fn shared(&self, out: &mut Vec<Setting>) {
        if let Some(cpus) = &self.cpuset_cpus {
            out.push(("cpuset", "cpuset.cpus", cpus.clone()));
        }
        if let Some(mems) = &self.cpuset_mems {
            out.push(("cpuset", "cpuset.mems", mems.clone()));
        }
        if let Some(pids) = self.pids_limit {
            let max = if pids > 0 {
                pids.to_string()
            } else {
                "max".into()
            };
            out.push(("pids", "pids.max", max));
        }
    }

    /// The quota and its period, in µs: from `--cpus`, or as given; the period is
    /// Docker's 100 ms wherever only a quota is.
    fn cpu_max(&self) -> (Option<i64>, Option<i64>) {
        match self.nano_cpus {
            Some(n) => (Some(n * CPU_PERIOD_US / NANOS_PER_CPU), Some(CPU_PERIOD_US)),
            None => {
                let period = self.cpu_period.or(self.cpu_quota.map(|_| CPU_PERIOD_US));
                (self.cpu_quota, period)
            }
        }
    }
}

/// Docker's sizes (go-units' RAMInBytes): a number, maybe with a fraction, then
/// b, k, m, g, t or p, in powers of 1024, any case, with an optional `b`/`ib` after.
pub fn bytes(flag: &str, text: &str) -> Result<i64> {
    let invalid = || Error::usage(format!("invalid size {text:?} for {flag}"));
    let lower = text.trim().to_ascii_lowercase();
    let unit_start = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(unit_start);
    let unit = unit.trim_start();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let power = match unit {
        "" | "b" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(invalid()),
    };
    let value = units::decimal(number, 1 << (10 * power)).ok_or_else(invalid)?;
    i64::try_from(value).map_err(|_| invalid())
}

/// `--cpus 1.5` → 1 500 000 000 billionths of a CPU.
fn nano_cpus(text: &str) -> Result<i64> {
    // Twice the billionths, cut, then halved up: rounded to the nearest, as Docker does.
    let nanos = units::decimal(text, 2 * NANOS_PER_CPU as u64)
        .and_then(|twice| i64::try_from(twice / 2 + twice % 2).ok())
        .ok_or_else(|| Error::usage(format!("invalid argument {text:?} for --cpus")))?;
    if nanos > 0 && nanos < NANOS_PER_CPU / 100 {
        return Err(Error::usage(
            "range of CPUs is from 0.01 upwards: --cpus is too small",
        ));
    }
    Ok(nanos)
}

fn integer(flag: &str, text: &str) -> Result<i64> {
    text.parse()
        .map_err(|_| Error::usage(format!("invalid number {text:?} for {flag}")))
}

/// `0-3,5`: CPU numbers and ranges; which ones exist is the kernel's to say.
fn cpu_list(text: &str) -> Result<String> {
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    let valid = text.split(',').all(|part| match part.split_once('-') {
        Some((low, high)) => number(low) && number(high),
        None => number(part),
    });
    match valid {
        true => Ok(text.to_string()),
        false => Err(Error::usage(format!(
            "invalid value {text:?} for --cpuset-cpus: want CPU numbers and ranges, like 0-3,5"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(flags: &[(&str, &str)]) -> Limits {
        let mut limits = <Limits as Default>::default();
        for (flag, value) in flags {
            limits.set(flag, value).unwrap();
        }
        limits
    }

    #[test]
    fn sizes_follow_dockers_units() {
        assert_eq!(bytes("-m", "32m").unwrap(), 32 << 20);
        assert_eq!(bytes("-m", "32M").unwrap(), 32 << 20);
        assert_eq!(bytes("-m", "1.5g").unwrap(), 3 << 29);
        assert_eq!(bytes("-m", "64MiB").unwrap(), 64 << 20);
        assert_eq!(bytes("-m", "512k").unwrap(), 512 << 10);
        assert_eq!(bytes("-m", "100").unwrap(), 100);
        assert_eq!(bytes("-m", "100b").unwrap(), 100);
        let err = bytes("--memory", "32x").unwrap_err();
        assert_eq!(err.to_string(), "invalid size \"32x\" for --memory");
        assert!(bytes("-m", "m").is_err());
    }

    #[test]
    fn cpus_become_a_quota_per_100ms() {
        let l = limits(&[("--cpus", "0.5")]);
        assert_eq!(l.nano_cpus, Some(500_000_000));
        assert_eq!(
            l.v1(),
            [
                ("cpu", "cpu.cfs_period_us", "100000".to_string()),
                ("cpu", "cpu.cfs_quota_us", "50000".to_string())
            ]
        );
        assert_eq!(l.v2(), [("cpu", "cpu.max", "50000 100000".to_string())]);
        assert!(nano_cpus("0.001").is_err());
        assert!(nano_cpus("-1").is_err());
        let err = limits(&[("--cpus", "3")]).validate(|| 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
    }

    #[test]
    fn swap_defaults_to_twice_the_memory_and_v2_counts_swap_alone() {
        let l = limits(&[("--memory", "32m")]);
        assert!(l.v1().contains(&(
            "memory",
            "memory.memsw.limit_in_bytes",
            (64 << 20).to_string()
        )));
        assert!(l
            .v2()
            .contains(&("memory", "memory.swap.max", (32 << 20).to_string())));
        let none = limits(&[("--memory", "32m"), ("--memory-swap", "32m")]);
        assert!(none
            .v2()
            .contains(&("memory", "memory.swap.max", "0".to_string())));
        let unlimited = limits(&[("--memory", "32m"), ("--memory-swap", "-1")]);
        assert!(unlimited.v1().contains(&(
            "memory",
            "memory.memsw.limit_in_bytes",
            "-1".to_string()
        )));
        assert!(unlimited
            .v2()
            .contains(&("memory", "memory.swap.max", "max".to_string())));
    }

    #[test]
    fn inconsistent_memory_flags_are_refused_like_docker() {
        let check =
            |flags: &[(&str, &str)]| limits(flags).validate(|| 2).map_err(|e| e.to_string());
        assert!(check(&[("-m", "1m")]).unwrap_err().contains("6MB"));
        assert!(check(&[("--memory-swap", "64m")])
            .unwrap_err()
            .contains("memory limit"));
        assert!(check(&[("-m", "64m"), ("--memory-swap", "32m")]).is_err());
        assert!(check(&[("-m", "32m"), ("--memory-reservation", "64m")]).is_err());
        assert!(check(&[("-m", "64m"), ("--memory-reservation", "32m")]).is_ok());
    }

    #[test]
    fn shares_map_to_weights_as_runc_does() {
        let weight = |shares: &str| limits(&[("--cpu-shares", shares)]).v2()[0].2.clone();
        assert_eq!(weight("2"), "1");
        assert_eq!(weight("1024"), "39");
        assert_eq!(weight("262144"), "10000");
        assert_eq!(weight("1"), "1", "clamped to the kernel's minimum");
        assert_eq!(limits(&[("--cpu-shares", "512")]).v1()[0].2, "512");
    }

    #[test]
    fn pids_limit_of_zero_or_less_is_unlimited() {
        assert_eq!(limits(&[("--pids-limit", "20")]).v2()[0].2, "20");
        assert_eq!(limits(&[("--pids-limit", "-1")]).v1()[0].2, "max");
        assert_eq!(limits(&[("--pids-limit", "0")]).v1()[0].2, "max");
    }

    #[test]
    fn cpu_lists_are_checked_for_shape() {
        assert_eq!(limits(&[("--cpuset-cpus", "0-1,3")]).v1()[0].2, "0-1,3");
        assert!(cpu_list("0-").is_err());
        assert!(cpu_list("a").is_err());
        assert!(cpu_list("").is_err());
    }

    #[test]
    fn flags_name_what_is_set() {
        let l = limits(&[("--cpus", "1"), ("-m", "32m")]);
        assert_eq!(l.flags(), "--memory, --cpus");
        assert!(<Limits as Default>::default().is_empty());
        assert!(!l.is_empty());
    }
}
