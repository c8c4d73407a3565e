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

use std::fs;

use miniserde::json::{self, Value};

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
        let side = format!(
            r#"{{"Version":"{}","Os":"linux","Arch":"{}","KernelVersion":{}}}"#,
            env!("CARGO_PKG_VERSION"),
            manifest::host_platform().architecture,
            json::to_string(&kernel()),
        );
        Ok(format!(r#"{{"Client":{side},"Server":{side}}}"#))
    })
}

/// Renders the JSON text `value()` makes through `--format`, or else through the
/// command's own layout.
fn show(
    argv: &[String],
    command: &str,
    help: &str,
    layout: &str,
    value: fn() -> Result<String>,
) -> Result<i32> {
    let mut format = None;
    let rest = cli::parse(
        argv,
        command,
        help,
        &mut [Opt::Value(&["-f", "--format"], &mut format)],
    )?;
    cli::no_arguments(&rest, command)?;
    let value = json::from_str(&value()?).unwrap_or(Value::Null);
    let text = Template::parse(format.as_deref().unwrap_or(layout))?.render(&value)?;
    println!("{text}");
    Ok(0)
}

fn kernel() -> String {
    proc("sys/kernel/osrelease")
}

fn proc(file: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{file}")).unwrap_or_default();
    text.trim().to_string()
}

fn info() -> Result<String> {
    let store = Store::open()?;
    let mut images = Vec::new();
    for (_, manifest) in store.references()? {
        if !images.contains(&manifest) {
            images.push(manifest);
        }
    }
    drop(store);
    lifecycle::sweep();
    let containers = lifecycle::list()?;
    let running = containers.iter().filter(|c| c.status() == Status::Running);
    let paused = running.clone().filter(|c| c.is_paused()).count();
    let running = running.count();
    Ok(format!(
        r#"{{"Containers":{},"ContainersRunning":{},"ContainersPaused":{paused},"ContainersStopped":{},"Images":{},"ServerVersion":"{}","DockerRootDir":{},{},{}}}"#,
        containers.len(),
        running - paused,
        containers.len() - running,
        images.len(),
        env!("CARGO_PKG_VERSION"),
        json::to_string(&store::root().display().to_string()),
        features(),
        host(),
    ))
}

/// The storage and cgroup drivers, and what the kernel offers skiff.
fn features() -> String {
    let overlayfs = proc("filesystems").contains("\toverlay\n") && !store_on_overlayfs();
    let cgroups = cgroup::version();
    let mut release = [0u32; 2];
    for (n, part) in release.iter_mut().zip(kernel().split(['.', '-'])) {
        *n = part.parse().unwrap_or(0);
    }
    format!(
        r#""Driver":"{}","CgroupDriver":"{}","CgroupVersion":"{}","Overlayfs":{overlayfs},"Clone3IntoCgroup":{},"Pidfd":{}"#,
        if overlayfs { "overlay2" } else { "copy" },
        if cgroups.is_some() {
            "cgroupfs"
        } else {
            "none"
        },
        cgroups.unwrap_or(""),
        cgroups == Some("2") && release >= [5, 7],
        sys::pidfd_open(std::process::id() as i32).is_ok(),
    )
}

/// The machine: its kernel, system, processors and memory.
fn host() -> String {
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let pretty = os.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="));
    let memory = stats::machine_memory();
    format!(
        r#""KernelVersion":{},"OperatingSystem":{},"OSType":"linux","Architecture":"{}","NCPU":{},"MemTotal":{memory},"TotalMemory":"{}","Name":{}"#,
        json::to_string(&kernel()),
        json::to_string(pretty.unwrap_or("Linux").trim_matches('"')),
        std::env::consts::ARCH,
        sys::cpu_count(),
        stats::memory(memory),
        json::to_string(&proc("sys/kernel/hostname")),
    )
}

/// Whether the store sits on overlayfs, where overlayfs refuses an upper dir.
fn store_on_overlayfs() -> bool {
    let root = fs::File::open(store::root());
    root.is_ok_and(|dir| sys::filesystem_type(&dir).is_ok_and(|t| t == OVERLAYFS_SUPER_MAGIC))
}
