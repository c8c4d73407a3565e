//! A hardened `skiff run` (issue 5): what a container may see, do and be, as Docker
//! makes it. Each test runs real images in real namespaces and looks from inside.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::testenv::{
    assert_one_line_error, inspect_field, next_line, ok, sh, skiff_bin, stderr, stdout, TestEnv,
    BUSYBOX,
};

/// The capability sets of the container's process, as /proc/self/status shows them.
fn capabilities(t: &TestEnv, flags: &[&str]) -> String {
    sh(t, flags, BUSYBOX, "grep -E '^Cap' /proc/self/status")
}

fn cap_line(set: &str, mask: &str) -> String {
    format!("{set}:\t{mask}\n")
}

fn all_sets(inheritable: &str, permitted: &str, bounding: &str) -> String {
    [
        cap_line("CapInh", inheritable),
        cap_line("CapPrm", permitted),
        cap_line("CapEff", permitted),
        cap_line("CapBnd", bounding),
        cap_line("CapAmb", "0000000000000000"),
    ]
    .concat()
}

const NONE: &str = "0000000000000000";
const DOCKER_DEFAULT: &str = "00000000a80425fb";

#[test]
fn capabilities_are_dockers_defaults() {
    let t = TestEnv::new();
    let want = all_sets(NONE, DOCKER_DEFAULT, DOCKER_DEFAULT);
    assert_eq!(capabilities(&t, &[]), want);
}

#[test]
fn cap_add_cap_drop_and_privileged_change_the_set() {
    let t = TestEnv::new();
    let eff = |flags: &[&str]| {
        let caps = capabilities(&t, flags);
        let line = caps.lines().find(|l| l.starts_with("CapEff")).unwrap();
        line.split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(eff(&["--cap-drop", "chown"]), "00000000a80425fa");
    assert_eq!(eff(&["--cap-add", "CAP_SYS_ADMIN"]), "00000000a82425fb");
    assert_eq!(
        eff(&["--cap-drop", "ALL", "--cap-add", "kill"]),
        "0000000000000020"
    );
    // Every capability skiff itself holds (this sandbox lacks CAP_SYS_RESOURCE).
    let ours = fs::read_to_string("/proc/self/status").unwrap();
    let ours = ours.lines().find(|l| l.starts_with("CapEff")).unwrap();
    assert_eq!(
        eff(&["--privileged"]),
        ours.split_whitespace().nth(1).unwrap()
    );
    let out = t.skiff(&["run", "--cap-add", "bogus", &t.image(BUSYBOX), "true"]);
    assert_one_line_error(&out, "unknown capability: \"CAP_BOGUS\"");
}

#[test]
fn a_user_other_than_root_keeps_only_the_bounding_set() {
    let t = TestEnv::new();
    let want = all_sets(NONE, NONE, DOCKER_DEFAULT);
    assert_eq!(capabilities(&t, &["-u", "1000"]), want);
}

#[test]
fn masked_paths_show_nothing_of_the_host_unless_privileged() {
    let t = TestEnv::new();
    let script = "head -c 1 /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/timer_list; ls /sys/firmware | wc -l";
    // /proc/kcore is absent on some kernels (this one): either way, no byte of it.
    assert_eq!(sh(&t, &[], BUSYBOX, script), "0\n0\n0\n");
    let privileged = sh(&t, &["--privileged"], BUSYBOX, script);
    let counts: Vec<u64> = privileged
        .lines()
        .map(|n| n.trim().parse().unwrap())
        .collect();
    assert!(
        counts[1] > 0,
        "timer_list is readable when privileged: {privileged}"
    );
    let host_firmware = fs::read_dir("/sys/firmware").unwrap().count() as u64;
    assert_eq!(counts[2], host_firmware);
}

#[test]
fn proc_sys_is_read_only_unless_privileged() {
    let t = TestEnv::new();
    let write = "{ echo changed > /proc/sys/kernel/hostname; } 2>&1; hostname";
    let out = sh(&t, &["--hostname", "boat"], BUSYBOX, write);
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.ends_with("boat\n"), "{out}");
    // The container's UTS namespace is its own, so this changes only its name.
    let out = sh(&t, &["--privileged", "--hostname", "boat"], BUSYBOX, write);
    assert_eq!(out, "changed\n");
}

#[test]
fn sys_is_read_only_unless_privileged() {
    let t = TestEnv::new();
    let out = sh(
        &t,
        &[],
        BUSYBOX,
        "touch /sys/kernel/x 2>&1; grep ' /sys ' /proc/mounts",
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(
        out.ends_with("sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n"),
        "{out}"
    );
    let out = sh(&t, &["--privileged"], BUSYBOX, "grep ' /sys ' /proc/mounts");
    assert_eq!(
        out,
        "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    );
}

#[test]
fn dev_has_pts_shm_and_mqueue() {
    // /dev/shm's source is `shm`, as Docker's and runc's default spec name it.
    let t = TestEnv::new();
    let script = "for d in pts shm mqueue; do grep \" /dev/$d \" /proc/mounts; done; \
                  readlink /dev/ptmx; echo x > /dev/shm/f && cat /dev/shm/f";
    let out = sh(&t, &[], BUSYBOX, script);
    assert_eq!(
        out,
        "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0\n\
         shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0\n\
         mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime 0 0\n\
         pts/ptmx\nx\n"
    );
}

#[test]
fn etc_hostname_hosts_and_resolv_conf_are_the_containers() {
    let t = TestEnv::new();
    let script = "cat /etc/hostname; tail -n 1 /etc/hosts; head -n 1 /etc/hosts; \
                  grep -c '^nameserver' /etc/resolv.conf; grep -c 'nameserver 127' /etc/resolv.conf";
    let image = t.image(BUSYBOX);
    let out = t.skiff(&["run", "--hostname", "boat", &image, "sh", "-c", script]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "boat", "{}", stderr(&out));
    let own_address = lines[1]
        .strip_suffix("\tboat")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        own_address.starts_with("10."),
        "its address on the bridge: {text}"
    );
    assert_eq!(lines[2], "127.0.0.1\tlocalhost");
    assert_ne!(lines[3], "0", "some nameserver");
    assert_eq!(lines[4], "0", "no loopback nameserver");
    // The image's own files are untouched: a second container sees its own name.
    let out = t.skiff(&["run", &image, "cat", "/etc/hostname"]);
    assert_eq!(stdout(&out).trim().len(), 12);
}

#[test]
fn a_numeric_user_runs_with_group_0_like_docker() {
    let t = TestEnv::new();
    let out = sh(&t, &["-u", "1000"], BUSYBOX, "id; echo $HOME");
    assert_eq!(out, "uid=1000 gid=0(root) groups=0(root)\n/\n");
    let out = sh(&t, &["-u", "1000:65534"], BUSYBOX, "id");
    assert_eq!(out, "uid=1000 gid=65534(nogroup) groups=65534(nogroup)\n");
}

#[test]
fn user_names_resolve_in_the_images_passwd_and_group() {
    let t = TestEnv::new();
    let out = sh(&t, &["-u", "app"], "library/users", "id; echo $HOME");
    assert_eq!(
        out,
        "uid=1000(app) gid=1000(app) groups=29(audio),50(staff),1000(app)\n/home/app\n"
    );
    let out = sh(&t, &["-u", "app:staff"], "library/users", "id");
    assert_eq!(out, "uid=1000(app) gid=50(staff) groups=50(staff)\n");
    let out = sh(&t, &[], "library/users", "id");
    assert_eq!(out, "uid=0(root) gid=0(root) groups=0(root)\n");
    let out = t.skiff(&["run", "-u", "ghost", &t.image("library/users"), "true"]);
    assert_one_line_error(
        &out,
        "unable to find user ghost: no matching entries in passwd file",
    );
}

#[test]
fn no_new_privileges_keeps_setuid_binaries_from_raising_anyone() {
    let t = TestEnv::new();
    let image = "library/users";
    let ids = "/usr/local/bin/suid-explorer ids; grep NoNewPrivs /proc/self/status";
    let out = sh(&t, &["-u", "app"], image, ids);
    assert_eq!(
        out, "1000 0\nNoNewPrivs:\t0\n",
        "setuid root works without it"
    );
    let flags = ["-u", "app", "--security-opt", "no-new-privileges"];
    let out = sh(&t, &flags, image, ids);
    assert_eq!(out, "1000 1000\nNoNewPrivs:\t1\n");
}

/// A host directory for `-v`, with one file in it.
fn host_dir(t: &TestEnv) -> String {
    let dir = t.root.join("shared");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("from-host"), "hello\n").unwrap();
    dir.to_str().unwrap().to_string()
}

#[test]
fn volumes_bind_host_directories_read_only_or_writable() {
    let t = TestEnv::new();
    let dir = host_dir(&t);
    let ro = format!("{dir}:/data:ro");
    let out = sh(
        &t,
        &["-v", &ro],
        BUSYBOX,
        "cat /data/from-host; touch /data/new 2>&1; true",
    );
    assert!(
        out.starts_with("hello\n") && out.contains("Read-only file system"),
        "{out}"
    );
    assert!(!Path::new(&dir).join("new").exists());
    let rw = format!("{dir}:/deep/new/place");
    sh(
        &t,
        &["-v", &rw],
        BUSYBOX,
        "echo written > /deep/new/place/new",
    );
    assert_eq!(
        fs::read_to_string(Path::new(&dir).join("new")).unwrap(),
        "written\n"
    );
}

#[test]
fn volume_targets_resolve_inside_the_container() {
    // busybox's /var/run is a symlink to /run: the mount lands on the container's
    // /run, not the host's.
    let t = TestEnv::new();
    let dir = host_dir(&t);
    let volume = format!("{dir}:/var/run/x");
    let out = sh(&t, &["-v", &volume], BUSYBOX, "cat /run/x/from-host");
    assert_eq!(out, "hello\n");
    for target in ["/proc", "/", "/dev/x", "relative"] {
        let volume = format!("{dir}:{target}");
        let out = t.skiff(&["run", "-v", &volume, &t.image(BUSYBOX), "true"]);
        assert_one_line_error(&out, "invalid volume");
    }
    let out = t.skiff(&["run", "-v", "/no/such/dir:/x", &t.image(BUSYBOX), "true"]);
    assert_one_line_error(&out, "the host path does not exist");
}

#[test]
fn tmpfs_mounts_with_dockers_defaults_and_options() {
    let t = TestEnv::new();
    let script = "grep ' /scratch ' /proc/mounts; echo x > /scratch/f && cat /scratch/f";
    let out = sh(
        &t,
        &["--tmpfs", "/scratch:size=1m,mode=700"],
        BUSYBOX,
        script,
    );
    assert_eq!(
        out,
        "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700 0 0\nx\n"
    );
}

#[test]
fn read_only_root_leaves_only_its_own_mounts_writable() {
    let t = TestEnv::new();
    let script = "touch /x 2>&1; touch /tmp/x 2>&1; { echo hi > /etc/hosts; } 2>&1; \
                  touch /dev/shm/x && echo shm-ok";
    let out = sh(&t, &["--read-only"], BUSYBOX, script);
    assert_eq!(out.matches("Read-only file system").count(), 3, "{out}");
    assert!(out.ends_with("shm-ok\n"), "{out}");
    let out = sh(
        &t,
        &["--read-only", "--tmpfs", "/tmp"],
        BUSYBOX,
        "touch /tmp/x && echo tmp-ok",
    );
    assert_eq!(out, "tmp-ok\n");
}

#[test]
fn env_file_follows_dockers_format() {
    let t = TestEnv::new();
    let file = t.root.join("env");
    fs::write(
        &file,
        "# a comment\nA=from file\n\n  B=two=2 \nFROM_HOST\nUNSET_HERE\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let image = t.image(BUSYBOX);
    let script = "echo \"$A|$B|$FROM_HOST|${UNSET_HERE-unset}\"";
    let out = t
        .command(&["run", "--env-file", file, &image, "sh", "-c", script])
        .env("FROM_HOST", "host value")
        .env_remove("UNSET_HERE")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "from file|two=2 |host value|unset\n",
        "{}",
        stderr(&out)
    );
    let out = t.skiff(&[
        "run",
        "--env-file",
        file,
        "-e",
        "A=flag",
        &image,
        "sh",
        "-c",
        "echo $A",
    ]);
    assert_eq!(stdout(&out), "flag\n", "-e wins over --env-file");
    fs::write(t.root.join("bad"), "A B=1\n").unwrap();
    let bad = t.root.join("bad");
    let out = t.skiff(&["run", "--env-file", bad.to_str().unwrap(), &image, "true"]);
    assert_one_line_error(&out, "variable 'A B' contains whitespaces");
}

#[test]
fn a_120_layer_image_runs_on_overlayfs_without_copying() {
    let t = TestEnv::new();
    let image = t.image("library/many");
    let script = "cat /etc/removed-by-upper /layers/60 /last";
    let out = t.skiff(&[
        "run", "--trace", "--name", "many", &image, "sh", "-c", script,
    ]);
    assert_eq!(stdout(&out), "lower\n60\nlast\n", "{}", stderr(&out));
    let trace = stderr(&out);
    // From Linux 6.8 skiff stacks them beside PID 1, one `lowerdir+` each; before, PID 1
    // names them by short links, to fit mount(2)'s one page of options.
    let stacked = match crate::run::kernel_at_least(6, 8) {
        true => "attach the overlayfs skiff stacked meanwhile",
        false => "name them by short links",
    };
    assert!(trace.contains(stacked), "{trace}");
    let copied = trace.contains("unpack the image's layers");
    assert!(!copied, "no layer was copied:\n{trace}");
    // `cp` mounts the same layers apart with mount(2), whatever the kernel: in its one
    // page of options, the layers are named by short links, one per layer.
    let out = t.skiff(&["cp", "many:/last", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = inspect_field(&t, "many", "Id");
    let links = t.root.join("containers").join(&id).join("l");
    assert_eq!(
        fs::read_dir(&links).unwrap().count(),
        120,
        "{}",
        links.display()
    );
    ok(&t, &["rm", "many"]);
}

/// sha256 of the binary under test, as the host sees it.
pub fn binary_digest() -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(skiff_bin())
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn cve_2019_5736_a_proc_self_exe_entrypoint_meets_a_sealed_copy() {
    // The container's command is a script whose interpreter is /proc/self/exe: the
    // kernel runs whatever binary the container's first process was forked from, here
    // as `skiff run /w/attack`. It must find itself a read-only copy already (were it
    // the host's binary, it would re-execute itself first), and the host's binary
    // must be unchanged.
    let t = TestEnv::new();
    let before = binary_digest();
    let dir = host_dir(&t);
    let script = Path::new(&dir).join("attack");
    fs::write(&script, "#!/proc/self/exe run\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let volume = format!("{dir}:/w");
    // A debug build of skiff is linked against the host's glibc: lend it the libraries.
    let libraries = ["-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro"];
    let out = t
        .command(&["run", "-v", &volume, "-e", "SKIFF_TRACE=1"])
        .args(libraries)
        .args([&t.image(BUSYBOX), "/w/attack"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("skiff runs from a read-only copy of itself"),
        "{err}"
    );
    assert!(!err.contains("re-execute"), "{err}");
    assert_eq!(
        out.status.code(),
        Some(125),
        "skiff refuses /w/attack as an image: {err}"
    );
    assert_eq!(binary_digest(), before);
}

#[test]
fn cve_2019_5736_the_exe_of_a_running_skiff_cannot_be_written() {
    // What an attacker who sees a skiff process (as in `docker exec`) would do: open
    // /proc/PID/exe for writing. It is a read-only copy, never the host's binary.
    let t = TestEnv::new();
    let before = binary_digest();
    let mut skiff = t
        .command(&[
            "run",
            "-i",
            &t.image(BUSYBOX),
            "sh",
            "-c",
            "echo ready; read line",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(next_line(&mut skiff), "ready\n");
    let exe = format!("/proc/{}/exe", skiff.id());
    let opened = fs::OpenOptions::new().write(true).open(&exe);
    let written = opened.and_then(|mut f| std::io::Write::write_all(&mut f, b"pwned"));
    assert!(written.is_err(), "{exe} took a write");
    drop(skiff.stdin.take()); // `read` ends, and with it the container
    assert_eq!(skiff.wait().unwrap().code(), Some(1));
    assert_eq!(binary_digest(), before);
}

#[test]
fn where_pivot_root_cannot_leave_the_root_the_new_root_moves_over_it() {
    // pivot_root(2) fails with EINVAL when the current root cannot move: on an
    // initramfs, which needs a VM, and where the root's parent mount is shared, which a
    // test can arrange: a chroot into a bind mount (the jail) inside a shared `/`, in a
    // mount namespace of the test's own. skiff must then do as switch_root does.
    let t = TestEnv::new();
    let jail = make_jail(&t);
    let script = r#"mount --make-shared / && mount --bind "$1" "$1" && cd "$1" &&
        mount --bind "$2" skiff && mount --rbind /usr usr &&
        mount --rbind /dev dev && mount -t proc proc proc && shift 2 &&
        exec chroot . /skiff "$@""#;
    let command = "cat /etc/hostname; ls /";
    let (trace, out) = traced_in_jail(&t, script, &[jail.as_os_str()], command);
    assert!(trace.contains("pivot_root(., .)"), "{trace}");
    assert!(trace.contains("mount(., /, NULL, MS_MOVE"), "{trace}");
    assert!(trace.contains("chroot(.)"), "{trace}");
    let listing: Vec<&str> = out.lines().collect();
    assert_eq!(
        listing[0].len(),
        12,
        "the container's hostname: {listing:?}"
    );
    assert_eq!(
        listing[1..].join(" "),
        "bin dev etc proc root run sys tmp usr var",
        "{trace}"
    );
}

/// A plain directory to chroot(2) skiff into: the host's /usr and /dev are bound there by
/// the caller's script, skiff onto the empty file `skiff`, its store is `/store`.
fn make_jail(t: &TestEnv) -> PathBuf {
    let jail = t.root.join("jail");
    for dir in ["proc", "dev", "usr", "store"] {
        fs::create_dir_all(jail.join(dir)).unwrap();
    }
    std::os::unix::fs::symlink("usr/lib", jail.join("lib")).unwrap();
    std::os::unix::fs::symlink("usr/lib64", jail.join("lib64")).unwrap();
    fs::write(jail.join("skiff"), "").unwrap();
    jail
}

/// [`traced_in_jail`] in a chroot(2) into `jail`, a plain directory (no mount point),
/// in a mount namespace of the test's own whose `/` is `propagation` (`private`, or
/// `shared`, where a peer stands for the host); fails with status 99 if a mount is left
/// on the jail afterwards.
fn run_in_plain_chroot(
    t: &TestEnv,
    jail: &Path,
    propagation: &str,
    command: &str,
) -> (String, String) {
    let script = r#"mount --make-$1 / && cd "$2" && mount --bind "$3" skiff &&
        mount --rbind /usr usr && mount --rbind /dev dev && mount -t proc proc proc &&
        shift 3 && chroot . /skiff "$@"; status=$?
        awk -v jail="$PWD" '$5 == jail' /proc/self/mountinfo | grep . && exit 99
        exit $status"#;
    let script_args = [propagation.as_ref(), jail.as_os_str()];
    traced_in_jail(t, script, &script_args, command)
}

/// `skiff run --rm --trace --network none busybox sh -c COMMAND`, which must succeed,
/// started by `sh -c SCRIPT sh SCRIPT_ARGS… SKIFF …` in a mount namespace of its own
/// with the environment skiff has in a jail ([`make_jail`]): its store at /store. Its
/// trace and its stdout. --network none: the jail's /run is not the host's, where skiff
/// keeps the machine's network lock and leases.
fn traced_in_jail(
    t: &TestEnv,
    script: &str,
    script_args: &[&OsStr],
    command: &str,
) -> (String, String) {
    let image = t.image(BUSYBOX);
    let run = [
        "run",
        "--rm",
        "--trace",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        command,
    ];
    let private = ["--mount", "--propagation", "private", "sh", "-c", script];
    let out = std::process::Command::new("unshare")
        .args(private)
        .arg("sh")
        .args(script_args)
        .arg(skiff_bin())
        .args(run)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SKIFF_ROOT", "/store")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("unshare: {err}"));
    let trace = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{trace}");
    (trace, stdout(&out))
}

#[test]
fn in_a_chroot_whose_root_is_no_mount_point_the_root_is_bound_onto_itself() {
    // `mount(/): Invalid argument` in a chroot into a plain directory (fresh-root.sh's
    // root before it binds it onto itself): there MS_PRIVATE has no mount to act on.
    let t = TestEnv::new();
    let jail = make_jail(&t);
    let (trace, listing) = run_in_plain_chroot(&t, &jail, "private", "echo $$; ls /proc/1");
    assert!(
        trace.contains("mount(/, /, NULL, MS_BIND|MS_REC"),
        "{trace}"
    );
    assert!(trace.contains("chroot(.)"), "{trace}");
    assert!(trace.contains("pivot_root(., .)"), "{trace}");
    assert!(
        listing.starts_with("1\n"),
        "PID 1, /proc mounted: {listing}"
    );
    assert!(listing.contains("cmdline"), "{listing}");

    // Where the directory's mount is shared, the bind reached its peers: it is taken
    // back, and the command runs in a plain chroot(2), with nothing mounted.
    let command = "ls /proc/self || echo no /proc";
    let (trace, listing) = run_in_plain_chroot(&t, &jail, "shared", command);
    assert!(trace.contains("take the bind back"), "{trace}");
    assert!(trace.contains("umount2(/.., MNT_DETACH)"), "{trace}");
    assert_eq!(listing, "no /proc\n", "{trace}");
}
