//! `linux.resources` of an OCI bundle: the cgroup settings of its container, as
//! skiff's own [`Limits`], which `cgroup::before_fork` writes into the cgroup's files
//! before anything runs in it (`cgroup/limits.rs` has the table of files, v1 and v2).
//!
//! The values are the kernel's own, unlike Docker's flags: `cpu.shares` as given (not
//! clamped), `quota` and `period` in µs (not `--cpus`), `cpus` and `mems` as the
//! cpuset lists, `swap` as memory plus swap (Docker's `--memory-swap`). A zero quota or
//! period is "not set", as runc reads them. What cgroup v2 has no file for (the
//! real-time period and runtime, `swappiness`, `kernel`, `kernelTCP`,
//! `disableOOMKiller`) is refused there by name.
//! `devices` is the device guard's list (`linux.rs`).
//!
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#control-groups>
//! <https://docs.kernel.org/admin-guide/cgroup-v1/memory.html>
//! <https://docs.kernel.org/scheduler/sched-rt-group.html>

use miniserde::Deserialize;

use super::linux;
use super::spec::unsupported;
use crate::cgroup::{self, Limits};
use crate::error::Result;

#[derive(Deserialize)]
pub struct Resources {
    memory: Option<Memory>,
    cpu: Option<Cpu>,
    pids: Option<Pids>,
    pub devices: Option<Vec<linux::DeviceRule>>,
}

#[derive(Deserialize)]
struct Memory {
    limit: Option<i64>,
    reservation: Option<i64>,
    /// Memory plus swap, as Docker's `--memory-swap`; -1 is unlimited swap.
    swap: Option<i64>,
    kernel: Option<i64>,
    #[serde(rename = "kernelTCP")]
    kernel_tcp: Option<i64>,
    swappiness: Option<i64>,
    #[serde(rename = "disableOOMKiller")]
    disable_oom_killer: Option<bool>,
}

#[derive(Deserialize)]
struct Cpu {
    shares: Option<i64>,
    quota: Option<i64>,
    period: Option<i64>,
    #[serde(rename = "realtimeRuntime")]
    realtime_runtime: Option<i64>,
    #[serde(rename = "realtimePeriod")]
    realtime_period: Option<i64>,
    cpus: Option<String>,
    mems: Option<String>,
}

#[derive(Deserialize)]
struct Pids {
    limit: i64,
}

/// The keys of `linux.resources` skiff reads, for `spec.rs`'s check of every key.
pub const KNOWN: [(&str, &[&str]); 4] = [
    ("linux.resources", &["memory", "cpu", "pids", "devices"]),
    (
        "linux.resources.memory",
        &[
            "limit",
            "reservation",
            "swap",
            "kernel",
            "kernelTCP",
            "swappiness",
            "disableOOMKiller",
        ],
    ),
    (
        "linux.resources.cpu",
        &[
            "shares",
            "quota",
            "period",
            "realtimeRuntime",
            "realtimePeriod",
            "cpus",
            "mems",
        ],
    ),
    ("linux.resources.pids", &["limit"]),
];

/// `resources` as the container's limits.
pub fn limits(resources: Option<&Resources>) -> Result<Limits> {
    let Some(resources) = resources else {
        return Ok(<Limits as Default>::default());
    };
    let cpu = resources.cpu.as_ref();
    let memory = resources.memory.as_ref();
    let cpu_field = |field: fn(&Cpu) -> Option<i64>| cpu.and_then(field);
    let memory_field = |field: fn(&Memory) -> Option<i64>| memory.and_then(field);
    let limits = Limits {
        memory: memory_field(|m| m.limit),
        memory_swap: memory_field(|m| m.swap),
        memory_reservation: memory_field(|m| m.reservation),
        kernel_memory: memory_field(|m| m.kernel),
        kernel_memory_tcp: memory_field(|m| m.kernel_tcp),
        memory_swappiness: memory_field(|m| m.swappiness),
        oom_kill_disable: memory.and_then(|m| m.disable_oom_killer),
        cpu_shares: cpu_field(|c| c.shares),
        cpu_quota: cpu_field(|c| c.quota).filter(|q| *q != 0),
        cpu_period: cpu_field(|c| c.period).filter(|p| *p != 0),
        cpu_rt_runtime: cpu_field(|c| c.realtime_runtime),
        cpu_rt_period: cpu_field(|c| c.realtime_period),
        cpuset_cpus: cpu.and_then(|c| c.cpus.clone()).filter(|c| !c.is_empty()),
        cpuset_mems: cpu.and_then(|c| c.mems.clone()).filter(|m| !m.is_empty()),
        pids_limit: resources.pids.as_ref().map(|p| p.limit),
        ..Default::default()
    };
    if cgroup::version() == Some("2") {
        v1_only(&limits)?;
    }
    Ok(limits)
}

/// Refuses, by its name in `config.json`, a setting cgroup v2 has no file for.
fn v1_only(limits: &Limits) -> Result<()> {
    let set = [
        ("cpu.realtimeRuntime", limits.cpu_rt_runtime.is_some()),
        ("cpu.realtimePeriod", limits.cpu_rt_period.is_some()),
        ("memory.kernel", limits.kernel_memory.is_some()),
        ("memory.kernelTCP", limits.kernel_memory_tcp.is_some()),
        ("memory.swappiness", limits.memory_swappiness.is_some()),
        (
            "memory.disableOOMKiller",
            limits.oom_kill_disable == Some(true),
        ),
    ];
    match set.iter().find(|(_, on)| *on) {
        Some((name, _)) => Err(unsupported(&format!(
            "linux.resources.{name} on cgroup v2 (a v1 setting)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json;

    #[test]
    fn resources_are_the_kernels_values() {
        let text = r#"{"cpu":{"shares":2048,"quota":50000,"period":500000,"cpus":"0","mems":"0","realtimePeriod":1000000},"memory":{"limit":50593792,"swap":50593792,"swappiness":10,"disableOOMKiller":true,"kernelTCP":50593792},"pids":{"limit":20}}"#;
        let resources: Resources = json::from_str(text).unwrap();
        let limits = limits(Some(&resources)).unwrap();
        let v1 = limits.v1();
        for (file, value) in [
            ("cpu.shares", "2048"),
            ("cpu.cfs_period_us", "500000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.rt_period_us", "1000000"),
            ("cpuset.cpus", "0"),
            ("cpuset.mems", "0"),
            ("memory.memsw.limit_in_bytes", "50593792"),
            ("memory.swappiness", "10"),
            ("memory.oom_control", "1"),
            ("memory.kmem.tcp.limit_in_bytes", "50593792"),
            ("pids.max", "20"),
        ] {
            assert!(
                v1.iter().any(|(_, f, v)| *f == file && v == value),
                "{file}={value} in {v1:?}"
            );
        }
        assert!(limits
            .v2()
            .contains(&("cpu", "cpu.max", "50000 500000".into())));
        let refusal = v1_only(&limits).unwrap_err().to_string();
        assert!(refusal.contains("linux.resources.cpu.realtimePeriod on cgroup v2"));
        let period: Resources = json::from_str(r#"{"cpu":{"period":500000}}"#).unwrap();
        let v2 = super::limits(Some(&period)).unwrap().v2();
        assert_eq!(v2, [("cpu", "cpu.max", "max 500000".to_string())]);
    }
}
