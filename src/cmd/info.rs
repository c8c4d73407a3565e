//! `skiff info` and `skiff version`: what skiff finds on this machine, in Docker's
//! layout and, for `--format`, under the JSON field names of Docker's API (`{{.NCPU}}`,
//! `{{.Client.Version}}`), so that scripts written for Docker read them unchanged.
//!
//! The runtime features skiff can use are found without side effects, as nothing is
//! mounted or cloned to learn them: overlayfs is listed in /proc/filesystems (the
//! kernel knows it) and the store is not itself on overlayfs (whose upper dir cannot
//! be another overlay's: inside Docker or Podman, skiff copies layers instead);
//! clone3(2) into a cgroup needs cgroup v2 and Linux 5.7; pidfd_open(2) is asked for a
//! descriptor of skiff itself, closed at once.
//! <https://docs.docker.com/reference/cli/docker/system/info/>
//! <https://man7.org/linux/man-pages/man2/pidfd_open.2.html>
//! <https://man7.org/linux/man-pages/man2/statfs.2.html>

use std::collections::BTreeSet;
use std::fs;

use miniserde::json::{Number, Object, Value};

use super::stats;
use crate::cgroup;
use crate::cli::{self, Opt};
use crate::error::Result;
use crate::image::store::{self, Store};
use crate::lifecycle::{self, Status};
use crate::registry::manifest;
use crate::sys;
use crate::template::Template;

pub const HELP: &str = "Usage:  skiff info [OPTIONS]

Display system-wide information

Options:
  -f, --format string   Format output using a Go template
  -h, --help            Print usage";

pub const VERSION: &str = "Usage:  skiff version [OPTIONS]

Show the skiff version information

Options:
  -f, --format string   Format output using a Go template
  -h, --help            Print usage";

const INFO: &str = "Server:
 Containers: {{.Containers}}
  Running: {{.ContainersRunning}}
  Paused: {{.ContainersPaused}}
  Stopped: {{.ContainersStopped}}
 Images: {{.Images}}
 Server Version: {{.ServerVersion}}
 Storage Driver: {{.Driver}}
 Cgroup Driver: {{.CgroupDriver}}
 Cgroup Version: {{.CgroupVersion}}
 Runtime Features (found without side effects):
  overlayfs: {{.Overlayfs}} (in /proc/filesystems, and the store is not on overlayfs)
  clone3 into a cgroup: {{.Clone3IntoCgroup}} (cgroup v2 and Linux 5.7 or later)
  pidfd: {{.Pidfd}} (pidfd_open(2) of skiff itself)
 Kernel Version: {{.KernelVersion}}
 Operating System: {{.OperatingSystem}}
 OSType: {{.OSType}}
 Architecture: {{.Architecture}}
 CPUs: {{.NCPU}}
 Total Memory: {{.TotalMemory}}
 Name: {{.Name}}
 Docker Root Dir: {{.DockerRootDir}}";

const CLIENT_SERVER: &str = "Client:
 Version:           {{.Client.Version}}
 OS/Arch:           {{.Client.Os}}/{{.Client.Arch}}

Server:
 Engine:
  Version:          {{.Server.Version}}
  OS/Arch:          {{.Server.Os}}/{{.Server.Arch}}
  Kernel Version:   {{.Server.KernelVersion}}";

/// The overlayfs magic number of statfs(2)'s `f_type`.
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

pub fn main(argv: &[String]) -> Result<i32> {
    show(argv, "info", HELP, INFO, info)
}

pub fn version_main(argv: &[String]) -> Result<i32> {
    show(argv, "version", VERSION, CLIENT_SERVER, || {
        let side = engine();
        Ok(object(vec![("Client", side.clone()), ("Server", side)]))
    })
}

/// Renders `value()` through `--format`, or else through the command's own layout.
fn show(
    argv: &[String],
    command: &str,
    help: &str,
    layout: &str,
    value: fn() -> Result<Value>,
) -> Result<i32> {
    let mut format = None;
    let rest = cli::parse(
        argv,
        command,
        help,
        &mut [Opt::Value(&["-f", "--format"], &mut format)],
    )?;
    cli::no_arguments(&rest, command)?;
    let text = Template::parse(format.as_deref().unwrap_or(layout))?.render(&value()?)?;
    println!("{text}");
    Ok(0)
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<Object>(),
    )
}

fn string(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn number(n: usize) -> Value {
    Value::Number(Number::U64(n as u64))
}

/// The fields `version` shows of the client and of the "server", which are one here.
fn engine() -> Value {
    object(vec![
        ("Version", string(env!("CARGO_PKG_VERSION"))),
        ("Os", string("linux")),
        ("Arch", string(manifest::host_platform().architecture)),
        ("KernelVersion", string(kernel())),
    ])
}

fn kernel() -> String {
    proc("sys/kernel/osrelease")
}

fn proc(file: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{file}")).unwrap_or_default();
    text.trim().to_string()
}

fn info() -> Result<Value> {
    let store = Store::open()?;
    let images: BTreeSet<_> = store.references()?.into_iter().map(|(_, m)| m).collect();
    drop(store);
    lifecycle::sweep();
    let containers = lifecycle::list()?;
    let count = |status| containers.iter().filter(|c| c.status() == status).count();
    let paused = containers.iter().filter(|c| c.is_paused()).count();
    let running = count(Status::Running);
    let mut fields = vec![
        ("Containers", number(containers.len())),
        ("ContainersRunning", number(running.saturating_sub(paused))),
        ("ContainersPaused", number(paused)),
        ("ContainersStopped", number(containers.len() - running)),
        ("Images", number(images.len())),
        ("ServerVersion", string(env!("CARGO_PKG_VERSION"))),
        ("DockerRootDir", string(store::root().display().to_string())),
    ];
    fields.extend(features());
    fields.extend(host());
    Ok(object(fields))
}

/// The storage and cgroup drivers, and what the kernel offers skiff.
fn features() -> Vec<(&'static str, Value)> {
    let overlayfs = proc("filesystems").contains("\toverlay\n") && !store_on_overlayfs();
    let cgroups = cgroup::version();
    let mut release = [0u32; 2];
    for (n, part) in release.iter_mut().zip(kernel().split(['.', '-'])) {
        *n = part.parse().unwrap_or(0);
    }
    let pidfd = sys::pidfd_open(std::process::id() as i32).is_ok();
    vec![
        (
            "Driver",
            string(if overlayfs { "overlay2" } else { "copy" }),
        ),
        (
            "CgroupDriver",
            string(if cgroups.is_some() {
                "cgroupfs"
            } else {
                "none"
            }),
        ),
        ("CgroupVersion", string(cgroups.unwrap_or(""))),
        ("Overlayfs", Value::Bool(overlayfs)),
        (
            "Clone3IntoCgroup",
            Value::Bool(cgroups == Some("2") && release >= [5, 7]),
        ),
        ("Pidfd", Value::Bool(pidfd)),
    ]
}

/// The machine: its kernel, system, processors and memory.
fn host() -> Vec<(&'static str, Value)> {
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let pretty = os.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="));
    let memory = stats::machine_memory();
    vec![
        ("KernelVersion", string(kernel())),
        (
            "OperatingSystem",
            string(pretty.unwrap_or("Linux").trim_matches('"')),
        ),
        ("OSType", string("linux")),
        ("Architecture", string(std::env::consts::ARCH)),
        (
            "NCPU",
            number(std::thread::available_parallelism().map_or(1, usize::from)),
        ),
        ("MemTotal", Value::Number(Number::U64(memory))),
        ("TotalMemory", string(stats::memory(memory))),
        ("Name", string(proc("sys/kernel/hostname"))),
    ]
}

/// Whether the store sits on overlayfs, where overlayfs refuses an upper dir.
fn store_on_overlayfs() -> bool {
    let root = fs::File::open(store::root());
    root.is_ok_and(|dir| sys::filesystem_type(&dir).is_ok_and(|t| t == OVERLAYFS_SUPER_MAGIC))
}
