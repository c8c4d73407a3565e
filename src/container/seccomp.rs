//! Seccomp: a filter that every system call of the container passes through, as
//! Docker confines every container with its default profile.
//!
//! seccomp(2) `SECCOMP_SET_MODE_FILTER` attaches a classic BPF program to the process;
//! the kernel runs it on each system call over a `struct seccomp_data` (the call's
//! number, the architecture it came in by, its six arguments) and the program's return
//! value decides: proceed (`SECCOMP_RET_ALLOW`), fail with an errno
//! (`SECCOMP_RET_ERRNO`), or kill. The filter is inherited by every child and across
//! execve(2), and can never be removed, only narrowed by more filters. Attaching one
//! needs no-new-privileges or `CAP_SYS_ADMIN`, so it is loaded last: just before
//! execve(2) after no-new-privileges, else just before the capabilities go, as runc
//! orders it.
//!
//! The program skiff builds, in order:
//! 1. the architecture: anything but `AUDIT_ARCH_X86_64` (an i386 call through
//!    `int 0x80`, whose numbers mean other calls) kills the process, libseccomp's
//!    default for an architecture the filter does not know (Docker also lists i386 and
//!    x32 with their own tables; skiff has only x86_64's);
//! 2. a binary search for the call's number on the number line, cut into intervals
//!    where the answer changes: a run of neighbouring numbers with the same action
//!    and no argument checks is one interval (0 to 40, read to connect, all allowed,
//!    is one), and so is a run the profile does not name, which gets its default
//!    action (`EPERM` for Docker's). Each comparison ("at least the start of the
//!    upper half?") halves the intervals left;
//! 3. at the end of the search, one return for the interval, or for a number whose
//!    rules check arguments, those checks (64-bit values compared as two 32-bit
//!    halves), then its rule without checks or the default;
//! 4. two intervals past the table's end: numbers above the highest skiff knows fail
//!    with `ENOSYS`, so a libc tries the older call it falls back to (runc's "ENOSYS
//!    stub"), where `EPERM` would be taken as a refusal; and x32's calls (numbers with
//!    bit 30 set, under the same architecture value) fail with `EPERM`: the
//!    architecture check alone lets them through.
//!
//! Why intervals, and not a leaf per named number: Docker's profile cuts the line into
//! ~70 intervals, against ~350 named numbers (180 instructions instead of 1,594), and
//! the program's length is what loading costs: seccomp(2) checks and translates every
//! instruction, then runs the program once for each system call number to find the
//! calls whose answer is always "allow" (a bitmap that spares them the filter later,
//! Linux 5.11+, `seccomp_cache_prepare` in kernel/seccomp.c). A call also makes fewer
//! comparisons: seven at most.
//!
//! Docker's default profile (moby/profiles `seccomp/default.json`) allows ~300 calls on
//! x86_64, more with capabilities (`--cap-add SYS_ADMIN` unlocks mount(2), unshare(2),
//! setns(2), bpf(2)…), some only with certain arguments (clone(2) without namespace
//! flags, socket(2) of any family but `AF_ALG` and `AF_VSOCK`, five personality(2)
//! values), `clone3` fails with `ENOSYS` without `CAP_SYS_ADMIN` (its flags sit in
//! memory a filter cannot read, so libcs must fall back to clone), and `keyctl`,
//! `add_key`, `kexec_load`, … are never allowed. `--privileged` and
//! `--security-opt seccomp=unconfined` load no filter; `seccomp=PROFILE.json` loads a
//! profile in Docker's format instead.
//! <https://man7.org/linux/man-pages/man2/seccomp.2.html>
//! <https://docs.kernel.org/userspace-api/seccomp_filter.html>
//! <https://github.com/moby/profiles/blob/main/seccomp/default.json>

use libc::sock_filter;
use miniserde::{json, Deserialize};

use super::{capabilities, Options};
use crate::error::{Error, Result};
use crate::sort;
use crate::sys;
use crate::trace;

/// What the filter returns for a call: `SECCOMP_RET_*`, with an errno in the low bits.
type Action = u32;

const ALLOW: Action = libc::SECCOMP_RET_ALLOW;
const KILL_PROCESS: Action = libc::SECCOMP_RET_KILL_PROCESS;

const fn errno(errno: i32) -> Action {
    libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA)
}

/// linux/audit.h: x86_64 (`EM_X86_64` | 64-bit | little-endian).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// x32's calls are x86_64's numbers with this bit set (`__X32_SYSCALL_BIT`).
const X32_BIT: u32 = 0x4000_0000;
/// Offsets in `struct seccomp_data`: nr, arch, then (after ip) the six arguments.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARGS: u32 = 16;

/// Every x86_64 system call by name, in number order (arch/x86/entry/syscalls/
/// syscall_64.tbl, through Linux 6.17); a number stands where the numbering skips.
/// Profiles name calls; filters see numbers.
const NAMES: &str = "
read write open close stat fstat lstat poll lseek mmap mprotect munmap brk
rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access
pipe select sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2
pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept
sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername
socketpair setsockopt getsockopt clone fork vfork execve exit wait4 kill uname
semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync
truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink
symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit
getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid getegid
setpgid getppid getpgrp setsid setreuid setregid getgroups setgroups setresuid
getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset
rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod
uselib personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam
sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max
sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall
vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit chroot
sync acct settimeofday mount umount2 swapon swapoff reboot sethostname setdomainname
iopl ioperm create_module init_module delete_module get_kernel_syms query_module
quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead
setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr
flistxattr removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity
sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit
io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old
remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64
timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime
clock_gettime clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill
utimes vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend
mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl
ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages
openat mkdirat mknodat fchownat futimesat newfstatat unlinkat renameat linkat
symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list
get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait
signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4
signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev
rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64
name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu
process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr
renameat2 seccomp getrandom memfd_create kexec_file_load bpf execveat userfaultfd
membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc
pkey_free statx io_pgetevents rseq uretprobe 424 pidfd_send_signal io_uring_setup
io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick
pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise
epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule
landlock_restrict_self memfd_secret process_mrelease futex_waitv
set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait
futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr
lsm_list_modules mseal setxattrat getxattrat listxattrat removexattrat
open_tree_attr file_getattr file_setattr
";
/// The last number in [`NAMES`]: anything above is newer than skiff's table.
const HIGHEST: u32 = 469;

/// Docker's default profile's unconditional allow-list, as it applies to x86_64 (the
/// names of other architectures' calls left out).
const DOCKER_ALLOWED: &str = "
    read write open close stat fstat lstat poll lseek mmap mprotect munmap brk
    rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access
    pipe select sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2
    pause nanosleep getitimer alarm setitimer getpid sendfile connect accept sendto
    recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair
    setsockopt getsockopt fork vfork execve exit wait4 kill uname semget semop semctl
    shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate
    getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink readlink
    chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo
    times ptrace getuid getgid setuid setgid geteuid getegid setpgid getppid getpgrp
    setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid getresgid
    getpgid setfsuid setfsgid getsid capget capset rt_sigpending rt_sigtimedwait
    rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod statfs fstatfs getpriority
    setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler
    sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock
    mlockall munlockall modify_ldt prctl arch_prctl adjtimex setrlimit sync gettid
    readahead setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr
    llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time futex
    sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy io_getevents
    io_submit io_cancel get_thread_area epoll_create epoll_ctl_old epoll_wait_old
    remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64
    timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_gettime
    clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes mq_open
    mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr waitid ioprio_set
    ioprio_get inotify_init inotify_add_watch inotify_rm_watch openat mkdirat mknodat
    fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat
    faccessat pselect6 ppoll set_robust_list get_robust_list splice tee sync_file_range
    vmsplice utimensat epoll_pwait signalfd timerfd_create eventfd fallocate
    timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2
    inotify_init1 preadv pwritev rt_tgsigqueueinfo recvmmsg fanotify_mark prlimit64
    name_to_handle_at clock_adjtime syncfs sendmmsg getcpu process_vm_readv
    process_vm_writev sched_setattr sched_getattr renameat2 seccomp getrandom
    memfd_create execveat membarrier mlock2 copy_file_range preadv2 pwritev2
    pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq uretprobe
    pidfd_send_signal pidfd_open close_range openat2 faccessat2 epoll_pwait2
    landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret
    process_mrelease futex_waitv cachestat fchmodat2 map_shadow_stack futex_wake
    futex_wait futex_requeue statmount listmount mseal setxattrat getxattrat listxattrat
    removexattrat
";

/// What each capability unlocks in Docker's profile: (its bit, the calls).
const DOCKER_BY_CAPABILITY: [(u8, &str); 14] = [
    (2, "open_by_handle_at"), // DAC_READ_SEARCH
    (
        21, // SYS_ADMIN
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie
         lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr
         move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname
         sethostname setns syslog umount2 unshare",
    ),
    (22, "reboot"),                                 // SYS_BOOT
    (18, "chroot"),                                 // SYS_CHROOT
    (16, "delete_module init_module finit_module"), // SYS_MODULE
    (20, "acct"),                                   // SYS_PACCT
    (
        19,
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    ), // SYS_PTRACE
    (17, "iopl ioperm"),                            // SYS_RAWIO
    (25, "settimeofday clock_settime"),             // SYS_TIME
    (26, "vhangup"),                                // SYS_TTY_CONFIG
    (
        23,
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    ), // SYS_NICE
    (34, "syslog"),                                 // SYSLOG
    (39, "bpf"),                                    // BPF
    (38, "perf_event_open"),                        // PERFMON
];

const SYS_ADMIN: u64 = 1 << 21;

// Name look-ups by scanning, at compile time: slow for the interpreter, free at run time.
#[allow(long_running_const_eval)]
const ALLOWED: [u16; count(DOCKER_ALLOWED)] = numbers(DOCKER_ALLOWED);
#[allow(long_running_const_eval)]
const BY_CAPABILITY: [(u8, u16); pair_count()] = pairs();

/// The word of `text` that starts at or after `at`, as `(start, end)`; `None` past
/// the last. Words are separated by whitespace. (`const`: the tables of Docker's
/// profile become numbers as skiff is compiled; a name missing from [`NAMES`] there
/// is a compile error, not a panic.)
const fn next_word(text: &[u8], mut at: usize) -> Option<(usize, usize)> {
    while at < text.len() && text[at] <= b' ' {
        at += 1;
    }
    let start = at;
    while at < text.len() && text[at] > b' ' {
        at += 1;
    }
    if start == at {
        return None;
    }
    Some((start, at))
}

/// Whether `text[start..end]` is `word`.
const fn is(text: &[u8], (start, end): (usize, usize), word: &[u8]) -> bool {
    if end - start != word.len() {
        return false;
    }
    let mut i = 0;
    while i < word.len() {
        if text[start + i] != word[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The first name in [`NAMES`] from byte `at` on, as `(start, end)`, and its number:
/// `nr`, unless a number stands before it. `None` past the last.
const fn next_call(mut at: usize, mut nr: u16) -> Option<((usize, usize), u16)> {
    let table = NAMES.as_bytes();
    while let Some((start, end)) = next_word(table, at) {
        if !table[start].is_ascii_digit() {
            return Some(((start, end), nr));
        }
        (at, nr) = (start, 0);
        while at < end {
            nr = nr * 10 + (table[at] - b'0') as u16;
            at += 1;
        }
    }
    None
}

/// A system call's number on x86_64, by its name (a scan: for the tables compiled in).
const fn number(name: &[u8]) -> Option<u16> {
    let (mut at, mut nr) = (0, 0);
    while let Some((word, this)) = next_call(at, nr) {
        if is(NAMES.as_bytes(), word, name) {
            return Some(this);
        }
        (at, nr) = (word.1, this + 1);
    }
    None
}

/// [`NAMES`] sorted by name, for a profile's hundreds of names: a binary search each,
/// where a scan of the table for each of the 472 names in Docker's profile (as
/// containers-common ships it) cost 0.9 ms at every start.
struct Index(Vec<(&'static str, u16)>);

impl Index {
    fn new() -> Index {
        let mut calls = Vec::with_capacity(HIGHEST as usize + 1);
        let (mut at, mut nr) = (0, 0);
        while let Some(((start, end), this)) = next_call(at, nr) {
            calls.push((&NAMES[start..end], this));
            (at, nr) = (end, this + 1);
        }
        sort::sort_by(&mut calls, |a, b| a.0.cmp(b.0));
        Index(calls)
    }

    fn number(&self, name: &str) -> Option<u16> {
        let at = self.0.binary_search_by(|call| call.0.cmp(name)).ok()?;
        Some(self.0[at].1)
    }
}

/// A name's number, for the tables compiled in: a name missing from [`NAMES`] stops
/// the compilation.
const fn known(name: &[u8]) -> u16 {
    match number(name) {
        Some(nr) => nr,
        None => panic!("not an x86_64 system call"),
    }
}

const fn count(list: &str) -> usize {
    let (mut at, mut n) = (0, 0);
    while let Some((_, end)) = next_word(list.as_bytes(), at) {
        (at, n) = (end, n + 1);
    }
    n
}

/// The numbers of a list of names, in its order.
const fn numbers<const N: usize>(list: &str) -> [u16; N] {
    let (text, mut at, mut i) = (list.as_bytes(), 0, 0);
    let mut out = [0; N];
    while let Some((start, end)) = next_word(text, at) {
        let (word, _) = text.split_at(end);
        out[i] = known(word.split_at(start).1);
        (at, i) = (end, i + 1);
    }
    out
}

const fn pair_count() -> usize {
    let (mut n, mut i) = (0, 0);
    while i < DOCKER_BY_CAPABILITY.len() {
        n += count(DOCKER_BY_CAPABILITY[i].1);
        i += 1;
    }
    n
}

/// [`DOCKER_BY_CAPABILITY`] as (capability bit, number) pairs.
const fn pairs() -> [(u8, u16); pair_count()] {
    let mut out = [(0, 0); pair_count()];
    let (mut i, mut n) = (0, 0);
    while i < DOCKER_BY_CAPABILITY.len() {
        let (bit, list) = DOCKER_BY_CAPABILITY[i];
        let (text, mut at) = (list.as_bytes(), 0);
        while let Some((start, end)) = next_word(text, at) {
            let (word, _) = text.split_at(end);
            out[n] = (bit, known(word.split_at(start).1));
            (at, n) = (end, n + 1);
        }
        i += 1;
    }
    out
}

/// A comparison of one argument, as a profile's `args` entry: `op` against `value`
/// (for `MaskedEq`, `(argument & value) == value_two`).
#[derive(Clone, Copy)]
struct Arg {
    index: u8,
    op: Op,
    value: u64,
    value_two: u64,
    /// The argument is a C `int` (socket(2)'s family): the kernel reads its low half
    /// alone, so only that half is compared. Compared whole, `1 << 32 | 38` would pass
    /// a "greater than 40" test on its high half and open an AF_ALG socket.
    low_only: bool,
}

#[derive(Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

/// The call `nr` ends in `action` when every one of `args` holds.
struct Rule {
    nr: u16,
    action: Action,
    args: Vec<Arg>,
}

impl Rule {
    fn new(nr: u16, action: Action) -> Rule {
        let args = Vec::new();
        Rule { nr, action, args }
    }
}

/// The filter for a container with capabilities `caps`, if it gets one.
pub fn for_container(options: &Options, caps: u64) -> Result<Option<Vec<sock_filter>>> {
    let profile = options.seccomp.as_deref();
    if options.privileged || profile == Some("unconfined") {
        return Ok(None);
    }
    let (rules, default) = match profile {
        Some(text) => from_profile(text, caps)?,
        None => (docker_default(caps), errno(libc::EPERM)),
    };
    compile(rules, default).map(Some)
}

/// Attaches `filter`, if there is one.
pub fn load(filter: Option<&[sock_filter]>) -> Result<()> {
    let Some(filter) = filter else {
        return Ok(());
    };
    trace::step("seccomp: from here on, a filter judges every system call");
    sys::seccomp_set_filter(filter)
}

/// Docker's default profile, for a container with capabilities `caps`.
fn docker_default(caps: u64) -> Vec<Rule> {
    let mut rules: Vec<Rule> = ALLOWED.iter().map(|&nr| Rule::new(nr, ALLOW)).collect();
    let unlocked = BY_CAPABILITY.iter().filter(|(bit, _)| caps & 1 << bit != 0);
    rules.extend(unlocked.map(|&(_, nr)| Rule::new(nr, ALLOW)));
    let with_argument = match caps & SYS_ADMIN {
        0 => &DOCKER_ARGUMENT_RULES[..],
        _ => &DOCKER_ARGUMENT_RULES[..DOCKER_ARGUMENT_RULES.len() - 1],
    };
    for &(nr, op, value) in with_argument {
        let args = vec![Arg {
            index: 0,
            op,
            value,
            value_two: 0,
            low_only: nr == SOCKET,
        }];
        rules.push(Rule {
            nr,
            action: ALLOW,
            args,
        });
    }
    if caps & SYS_ADMIN == 0 {
        rules.push(Rule::new(CLONE3, errno(libc::ENOSYS)));
    }
    rules
}

const SOCKET: u16 = known(b"socket");
const PERSONALITY: u16 = known(b"personality");
const CLONE: u16 = known(b"clone");
const CLONE3: u16 = known(b"clone3");

/// Docker's rules on a call's first argument: (call, comparison, value). The last
/// applies only without `CAP_SYS_ADMIN`, which allows every clone(2).
const DOCKER_ARGUMENT_RULES: [(u16, Op, u64); 9] = [
    // Any address family but AF_ALG (38) and AF_VSOCK (40).
    (SOCKET, Op::Lt, 38),
    (SOCKET, Op::Eq, 39),
    (SOCKET, Op::Gt, 40),
    // PER_LINUX, PER_LINUX32, UNAME26, both, and the query 0xffffffff.
    (PERSONALITY, Op::Eq, 0),
    (PERSONALITY, Op::Eq, 8),
    (PERSONALITY, Op::Eq, 0x2_0000),
    (PERSONALITY, Op::Eq, 0x2_0008),
    (PERSONALITY, Op::Eq, 0xffff_ffff),
    // No CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID or NEWNET.
    (CLONE, Op::MaskedEq, 0x7e02_0000),
];

/// Docker's JSON profile (`docker run --security-opt seccomp=FILE`), the parts skiff
/// reads; `architectures`, `archMap` and `minKernel` are not (x86_64 is the one
/// architecture, every `minKernel` of Docker's is met by any kernel skiff runs on).
#[derive(Deserialize)]
struct Profile {
    #[serde(rename = "defaultAction")]
    default_action: String,
    #[serde(rename = "defaultErrnoRet")]
    default_errno: Option<i32>,
    syscalls: Option<Vec<Syscalls>>,
}

#[derive(Deserialize)]
struct Syscalls {
    names: Vec<String>,
    action: String,
    #[serde(rename = "errnoRet")]
    errno: Option<i32>,
    args: Option<Vec<ProfileArg>>,
    includes: Option<Condition>,
    excludes: Option<Condition>,
}

#[derive(Deserialize)]
struct ProfileArg {
    index: u8,
    value: u64,
    #[serde(rename = "valueTwo")]
    value_two: Option<u64>,
    op: String,
}

#[derive(Deserialize)]
struct Condition {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
}

/// `--security-opt seccomp=PATH`: the profile's text, checked (one line on what is
/// wrong), to keep with the container.
pub fn read_profile(path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::usage(format!("opening seccomp profile ({path}) failed: {err}")))?;
    check_profile(&text)?;
    Ok(text)
}

/// Whether a profile's text makes a filter: the one reader of Docker's profiles and
/// of an OCI bundle's `linux.seccomp` (the same fields, less Docker's `includes` and
/// `excludes`; `oci/spec.rs` checks the rest of its own).
pub fn check_profile(text: &str) -> Result<()> {
    let (rules, default) = from_profile(text, 0)?;
    compile(rules, default).map(drop)
}

fn refuse(what: std::fmt::Arguments) -> Error {
    Error::usage(format!("seccomp profile: {what}"))
}

/// A profile's rules for a container with capabilities `caps`, and its default action.
fn from_profile(text: &str, caps: u64) -> Result<(Vec<Rule>, Action)> {
    let profile: Profile = json::from_str(text).map_err(|_| {
        refuse(format_args!(
            "not JSON in Docker's format (defaultAction, syscalls)"
        ))
    })?;
    let default = action(&profile.default_action, profile.default_errno)?;
    let mut rules = Vec::new();
    let index = Index::new();
    for entry in profile.syscalls.unwrap_or_default() {
        if !applies(&entry, caps)? {
            continue;
        }
        let action = action(&entry.action, entry.errno)?;
        let mut args = Vec::new();
        for check in entry.args.as_deref().unwrap_or_default() {
            args.push(arg(check)?);
        }
        // Other architectures' names are skipped, as libseccomp skips them for x86_64.
        let names = entry.names.iter();
        for nr in names.filter_map(|name| index.number(name)) {
            let args = args.clone();
            rules.push(Rule { nr, action, args });
        }
    }
    Ok((rules, default))
}

/// Docker's `includes` and `excludes`: every capability in `includes.caps` held, none
/// of `excludes.caps`; `amd64` among `includes.arches` (if any), not among `excludes`'.
fn applies(entry: &Syscalls, caps: u64) -> Result<bool> {
    let (includes, excludes) = (entry.includes.as_ref(), entry.excludes.as_ref());
    let amd64 = |c: Option<&Condition>| {
        let arches = c.and_then(|c| c.arches.as_deref());
        arches.map(|arches| arches.iter().any(|arch| arch == "amd64"))
    };
    let (all_included, _) = held(includes, caps)?;
    let (_, any_excluded) = held(excludes, caps)?;
    Ok(amd64(includes) != Some(false)
        && amd64(excludes) != Some(true)
        && all_included
        && !any_excluded)
}

/// Whether `caps` holds all of `condition`'s capabilities, and whether any.
fn held(condition: Option<&Condition>, caps: u64) -> Result<(bool, bool)> {
    let mut named = 0;
    for name in condition
        .and_then(|c| c.caps.as_deref())
        .unwrap_or_default()
    {
        named |= capabilities::bit(name)?;
    }
    Ok((caps & named == named, caps & named != 0))
}

fn action(name: &str, errno_ret: Option<i32>) -> Result<Action> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => ALLOW,
        "SCMP_ACT_ERRNO" => errno(errno_ret.unwrap_or(libc::EPERM)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => libc::SECCOMP_RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => KILL_PROCESS,
        "SCMP_ACT_TRAP" => libc::SECCOMP_RET_TRAP,
        "SCMP_ACT_LOG" => libc::SECCOMP_RET_LOG,
        _ => return Err(refuse(format_args!("unsupported action {name:?}"))),
    })
}

fn arg(arg: &ProfileArg) -> Result<Arg> {
    let op = match arg.op.as_str() {
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_GT" => Op::Gt,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
        op => return Err(refuse(format_args!("unsupported op {op:?}"))),
    };
    if arg.index > 5 {
        let index = arg.index;
        return Err(refuse(format_args!(
            "args index {index}: a call has six, 0 to 5"
        )));
    }
    let (index, value, value_two) = (arg.index, arg.value, arg.value_two.unwrap_or(0));
    Ok(Arg {
        index,
        op,
        value,
        value_two,
        low_only: false, // libseccomp compares a profile's values whole
    })
}

/// Classic BPF's instructions (linux/filter.h, linux/bpf_common.h), as the filter
/// uses them: load a 32-bit word of `seccomp_data` into the accumulator, mask it,
/// compare it with a constant and jump (`jt` if true, `jf` if false: how many
/// instructions to skip, forward only), jump always (32-bit distance), return.
const LOAD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Where a failed argument check jumps: past the rule's return, to the next rule;
/// patched once the rule's length is known.
const FAIL: u8 = u8::MAX;

fn insn(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn word(offset: u32) -> sock_filter {
    insn(LOAD, offset, 0, 0)
}

fn ret(action: Action) -> sock_filter {
    insn(RET, action, 0, 0)
}

/// The whole program: the architecture check, then the search over the number line.
fn compile(mut rules: Vec<Rule>, default: Action) -> Result<Vec<sock_filter>> {
    // Each number's rules in the profile's order, those with argument checks first:
    // one without would end the search for them.
    sort::sort_by(&mut rules, |a, b| {
        (a.nr, a.args.is_empty()).cmp(&(b.nr, b.args.is_empty()))
    });
    let mut program = vec![
        word(ARCH),
        insn(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        ret(KILL_PROCESS),
        word(NR),
    ];
    search(&intervals(&rules, default), default, &mut program)?;
    match program.len() {
        ..=BPF_MAXINSNS => Ok(program),
        len => Err(refuse(format_args!(
            "{len} instructions, over the kernel's 4096"
        ))),
    }
}

/// linux/bpf_common.h: the longest program the kernel takes.
const BPF_MAXINSNS: usize = 4096;

/// The numbers from `start` up to the next interval's start, and what they end in.
struct Interval<'a> {
    start: u32,
    leaf: Leaf<'a>,
}

enum Leaf<'a> {
    /// The same action for every number of the interval.
    Return(Action),
    /// One number's rules, those with argument checks first.
    Rules(&'a [Rule]),
}

/// The whole number line (`rules` sorted by number) cut where the answer changes:
/// neighbours with the same action and no argument checks share an interval, as do
/// the numbers no rule names (the default); then the numbers newer than [`NAMES`],
/// then x32's.
fn intervals(rules: &[Rule], default: Action) -> Vec<Interval<'_>> {
    let mut line: Vec<Interval> = Vec::new();
    let mut add = |start, leaf| {
        let last = line.last().map(|interval| &interval.leaf);
        if !matches!((last, &leaf), (Some(Leaf::Return(a)), Leaf::Return(b)) if a == b) {
            line.push(Interval { start, leaf });
        }
    };
    let mut unnamed = 0; // the first number after the last one named
    for group in rules.chunk_by(|a, b| a.nr == b.nr) {
        let nr = u32::from(group[0].nr);
        if unnamed < nr {
            add(unnamed, Leaf::Return(default));
        }
        if group[0].args.is_empty() {
            add(nr, Leaf::Return(group[0].action));
        } else {
            add(nr, Leaf::Rules(group));
        }
        unnamed = nr + 1;
    }
    if unnamed <= HIGHEST {
        add(unnamed, Leaf::Return(default));
    }
    // A profile that allows what it does not name allows the newer calls too.
    let newer = if default == ALLOW {
        ALLOW
    } else {
        errno(libc::ENOSYS)
    };
    add(HIGHEST + 1, Leaf::Return(newer));
    add(X32_BIT, Leaf::Return(errno(libc::EPERM)));
    line
}

/// A binary search over `line` (never empty), the call's number in the accumulator:
/// each comparison (`>=` the start of the upper half) halves what is left, and every
/// path ends in its interval's leaf.
fn search(line: &[Interval], default: Action, program: &mut Vec<sock_filter>) -> Result<()> {
    if let [interval] = line {
        match interval.leaf {
            Leaf::Return(action) => program.push(ret(action)),
            Leaf::Rules(rules) => block(rules, default, program)?,
        }
        return Ok(());
    }
    let (low, high) = line.split_at(line.len() / 2);
    let test = program.len();
    program.push(insn(JGE, high[0].start, 0, 0)); // jt: to `high`, past `low`
    search(low, default, program)?;
    let past_low = program.len() - test - 1;
    match u8::try_from(past_low) {
        Ok(distance) => program[test].jt = distance,
        // Too far for a conditional jump's 8 bits: on to a jump with 32. Putting it
        // before `low` moves no jump's target, as `low`'s jumps all land inside it.
        Err(_) => {
            let distance = u32::try_from(past_low).unwrap_or(u32::MAX);
            program.insert(test + 1, insn(JA, distance, 0, 0));
            program[test].jf = 1;
        }
    }
    search(high, default, program)
}

fn too_long(nr: u16) -> Error {
    refuse(format_args!(
        "too many argument checks for system call {nr}"
    ))
}

/// One number's rules, each falling through to the next when a check fails, then its
/// rule without checks, if any, else the default.
fn block(rules: &[Rule], default: Action, code: &mut Vec<sock_filter>) -> Result<()> {
    for rule in rules {
        let start = code.len();
        rule.args.iter().for_each(|arg| check_arg(arg, code));
        code.push(ret(rule.action));
        if rule.args.is_empty() {
            return Ok(()); // nothing after it could be reached
        }
        let end = code.len();
        for (at, insn) in code.iter_mut().enumerate().skip(start) {
            let past_return = u8::try_from(end - at - 1).map_err(|_| too_long(rule.nr))?;
            for target in [&mut insn.jt, &mut insn.jf] {
                if *target == FAIL {
                    *target = past_return;
                }
            }
        }
    }
    code.push(ret(default));
    Ok(())
}

/// One argument check; BPF compares 32 bits, so a 64-bit argument is compared as its
/// high half, then (where that is equal) its low half.
fn check_arg(arg: &Arg, code: &mut Vec<sock_filter>) {
    let low = ARGS + 8 * u32::from(arg.index); // little-endian: the low half first
    let high = low + 4;
    let halves = |value: u64| ((value >> 32) as u32, value as u32);
    let (hi, lo) = halves(arg.value);
    let less = matches!(arg.op, Op::Lt | Op::Le);
    let strict = matches!(arg.op, Op::Gt | Op::Le); // the low halves' test: > or >=
    let low_test = if strict { JGT } else { JGE };
    if arg.low_only {
        // Only Docker's socket rules, which are Lt, Eq and Gt (never MaskedEq).
        let test = match arg.op {
            Op::Eq => insn(JEQ, lo, 0, FAIL),
            Op::Ne => insn(JEQ, lo, FAIL, 0),
            _ if less => insn(low_test, lo, FAIL, 0),
            _ => insn(low_test, lo, 0, FAIL),
        };
        code.extend([word(low), test]);
        return;
    }
    match arg.op {
        Op::Eq => code.extend([
            word(high),
            insn(JEQ, hi, 0, FAIL),
            word(low),
            insn(JEQ, lo, 0, FAIL),
        ]),
        Op::Ne => code.extend([
            word(high),
            insn(JEQ, hi, 0, 2),
            word(low),
            insn(JEQ, lo, FAIL, 0),
        ]),
        Op::MaskedEq => {
            let (want_hi, want_lo) = halves(arg.value_two);
            code.extend([word(high), insn(AND, hi, 0, 0), insn(JEQ, want_hi, 0, FAIL)]);
            code.extend([word(low), insn(AND, lo, 0, 0), insn(JEQ, want_lo, 0, FAIL)]);
        }
        // Greater: a greater high half passes, a smaller one fails, equal ones go on.
        _ if !less => code.extend([
            word(high),
            insn(JGT, hi, 3, 0),
            insn(JEQ, hi, 0, FAIL),
            word(low),
            insn(low_test, lo, 0, FAIL),
        ]),
        // Less: the same tests, failing where greater passes.
        _ => code.extend([
            word(high),
            insn(JGT, hi, FAIL, 0),
            insn(JEQ, hi, 0, 2),
            word(low),
            insn(low_test, lo, FAIL, 0),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `program` as the kernel would on a call `nr` with `args`, from x86_64.
    fn run(program: &[sock_filter], nr: u32, args: [u64; 6]) -> Action {
        run_as(program, AUDIT_ARCH_X86_64, nr, args)
    }

    fn run_as(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> Action {
        let mut data = vec![nr, arch, 0, 0];
        args.iter()
            .for_each(|a| data.extend([*a as u32, (*a >> 32) as u32]));
        let (mut pc, mut acc) = (0, 0);
        loop {
            let i = program[pc];
            pc += 1;
            let taken = match i.code {
                RET => return i.k,
                LOAD => {
                    acc = data[i.k as usize / 4];
                    continue;
                }
                AND => {
                    acc &= i.k;
                    continue;
                }
                JA => {
                    pc += i.k as usize;
                    continue;
                }
                JEQ => acc == i.k,
                JGT => acc > i.k,
                JGE => acc >= i.k,
                code => panic!("unknown instruction {code:#x}"),
            };
            pc += usize::from(if taken { i.jt } else { i.jf });
        }
    }

    fn default_program(caps: u64) -> Vec<sock_filter> {
        compile(docker_default(caps), errno(libc::EPERM)).unwrap()
    }

    fn nr(name: &str) -> u32 {
        u32::from(number(name.as_bytes()).unwrap())
    }

    #[test]
    fn names_have_x86_64_numbers() {
        assert_eq!(number(b"read"), Some(0));
        assert_eq!(number(b"uretprobe"), Some(335));
        assert_eq!(number(b"pidfd_send_signal"), Some(424));
        assert_eq!(number(b"file_setattr").map(u32::from), Some(HIGHEST));
        assert_eq!(number(b"fcntl64"), None);
        let index = Index::new();
        for &(name, nr) in &index.0 {
            assert_eq!(number(name.as_bytes()), Some(nr), "{name}");
        }
        assert_eq!(index.0.len(), HIGHEST as usize + 1 - 88); // 336 to 423 never given out
        assert_eq!(index.number("pidfd_send_signal"), Some(424));
        assert_eq!(index.number("fcntl64"), None);
    }

    #[test]
    fn every_number_gets_dockers_answer() {
        let program = default_program(capabilities::DOCKER_DEFAULT);
        // Intervals, not a leaf for each of ~350 numbers (1,594 instructions).
        assert!(program.len() < 256, "{} instructions", program.len());
        let eperm = errno(libc::EPERM);
        for n in 0..=HIGHEST {
            let allowed = ALLOWED.contains(&(n as u16)) || n == nr("chroot");
            let want = if allowed { ALLOW } else { eperm };
            if ["socket", "personality", "clone", "clone3"]
                .iter()
                .all(|&c| n != nr(c))
            {
                assert_eq!(run(&program, n, [0; 6]), want, "system call {n}");
            }
        }
        assert_eq!(run(&program, HIGHEST + 1, [0; 6]), errno(libc::ENOSYS));
        assert_eq!(run(&program, X32_BIT | nr("read"), [0; 6]), eperm);
        assert_eq!(run_as(&program, 0x4000_0003, 0, [0; 6]), KILL_PROCESS);
        assert_eq!(run(&program, nr("keyctl"), [0; 6]), eperm);
        assert_eq!(run(&program, nr("mount"), [0; 6]), eperm);
    }

    #[test]
    fn arguments_are_checked_as_docker_checks_them() {
        let program = default_program(capabilities::DOCKER_DEFAULT);
        let call = |name, arg0| run(&program, nr(name), [arg0, 0, 0, 0, 0, 0]);
        assert_eq!(call("socket", 2), ALLOW); // AF_INET
        assert_eq!(call("socket", 39), ALLOW);
        assert_eq!(call("socket", 40), errno(libc::EPERM)); // AF_VSOCK
        assert_eq!(call("socket", 38), errno(libc::EPERM)); // AF_ALG
        assert_eq!(call("socket", 1 << 32 | 2), ALLOW);
        // The kernel reads an int: high bits set do not make AF_ALG or AF_VSOCK pass.
        assert_eq!(call("socket", 1 << 32 | 38), errno(libc::EPERM));
        assert_eq!(call("socket", 0xffff_ffff_0000_0028), errno(libc::EPERM));
        assert_eq!(call("personality", 0xffff_ffff), ALLOW);
        assert_eq!(call("personality", 0x0040_0000), errno(libc::EPERM)); // READ_IMPLIES_EXEC
        assert_eq!(call("clone", 0x11 | 0x0100_0000), ALLOW); // fork(3)'s flags
        assert_eq!(call("clone", 0x1000_0000), errno(libc::EPERM)); // CLONE_NEWUSER
        assert_eq!(call("clone3", 0), errno(libc::ENOSYS));
        let admin = default_program(capabilities::DOCKER_DEFAULT | SYS_ADMIN);
        assert_eq!(
            run(&admin, nr("clone"), [0x1000_0000, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(run(&admin, nr("clone3"), [0; 6]), ALLOW);
        assert_eq!(run(&admin, nr("mount"), [0; 6]), ALLOW);
    }

    #[test]
    fn profiles_compare_all_64_bits() {
        let profile = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read", "uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GE"}]},
            {"names": ["write"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_LT"}]},
            {"names": ["write"], "action": "SCMP_ACT_KILL_PROCESS",
             "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_NE"}]},
            {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arm_fadvise64_64"], "action": "SCMP_ACT_ERRNO"}]}"#;
        let (rules, default) = from_profile(profile, 0).unwrap();
        let program = compile(rules, default).unwrap();
        assert_eq!(
            run(&program, nr("read"), [0, 1 << 32, 0, 0, 0, 0]),
            errno(13)
        );
        assert_eq!(
            run(&program, nr("read"), [0, 0xffff_ffff, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(&program, nr("uname"), [0, 2 << 32, 0, 0, 0, 0]),
            errno(13)
        );
        assert_eq!(
            run(&program, nr("write"), [4, 0, 0, 0, 0, 0]),
            errno(libc::EPERM)
        );
        assert_eq!(run(&program, nr("write"), [9, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            run(&program, nr("write"), [1 << 32 | 9, 0, 0, 0, 0, 0]),
            KILL_PROCESS
        );
        assert_eq!(run(&program, nr("mount"), [0; 6]), ALLOW);
        assert_eq!(run(&program, HIGHEST + 1, [0; 6]), ALLOW);
    }

    /// What a profile's rules say about a call, read from the rules themselves rather than from a
    /// program: the reference every compiled program must agree with. `own` are the
    /// number's rules: those with argument checks are tried in the profile's order, then
    /// the first without.
    fn reference(own: &[&Rule], default: Action, arch: u32, nr: u32, args: [u64; 6]) -> Action {
        if arch != AUDIT_ARCH_X86_64 {
            return KILL_PROCESS;
        }
        if nr >= X32_BIT {
            return errno(libc::EPERM);
        }
        if nr > HIGHEST && default != ALLOW {
            return errno(libc::ENOSYS);
        }
        let checked = own
            .iter()
            .find(|rule| !rule.args.is_empty() && rule.args.iter().all(|arg| holds(arg, args)));
        checked
            .or_else(|| own.iter().find(|rule| rule.args.is_empty()))
            .map_or(default, |rule| rule.action)
    }

    fn holds(arg: &Arg, args: [u64; 6]) -> bool {
        let width = if arg.low_only {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        let (have, want) = (args[usize::from(arg.index)] & width, arg.value & width);
        match arg.op {
            Op::Eq => have == want,
            Op::Ne => have != want,
            Op::Lt => have < want,
            Op::Le => have <= want,
            Op::Gt => have > want,
            Op::Ge => have >= want,
            Op::MaskedEq => have & arg.value == arg.value_two,
        }
    }

    /// Compiles the rules `make` returns and runs the program on every number up to
    /// past [`HIGHEST`], x32's and other architectures' calls, each with argument values
    /// on and beside every value the rules compare with, in each argument.
    fn agrees_with_reference(make: impl Fn() -> (Vec<Rule>, Action)) {
        let (rules, default) = make();
        let mut values = vec![0, 1 << 32, u64::MAX];
        for arg in rules.iter().flat_map(|rule| &rule.args) {
            let v = arg.value;
            values.extend([v, v.wrapping_sub(1), v + 1, v ^ 1 << 32, arg.value_two]);
        }
        values.sort_unstable();
        values.dedup();
        let mut vectors = vec![[0; 6], [u64::MAX; 6]];
        for (index, &value) in (0..6).flat_map(|i| values.iter().map(move |v| (i, v))) {
            let mut args = [0; 6];
            args[index] = value;
            vectors.push(args);
        }
        let program = compile(make().0, default).unwrap();
        let numbers = (0..HIGHEST + 4).chain([X32_BIT - 1, X32_BIT, X32_BIT | 39, u32::MAX]);
        for nr in numbers {
            let own: Vec<&Rule> = rules.iter().filter(|r| u32::from(r.nr) == nr).collect();
            let i386 = (0x4000_0003, &vectors[..1]);
            for (arch, vectors) in [(AUDIT_ARCH_X86_64, &vectors[..]), i386] {
                for &args in vectors {
                    let want = reference(&own, default, arch, nr, args);
                    let got = run_as(&program, arch, nr, args);
                    assert_eq!(got, want, "call {nr} from {arch:#x} with {args:x?}");
                }
            }
        }
    }

    #[test]
    fn dockers_profile_compiles_to_its_rules_with_any_capabilities() {
        let mut sets = vec![0, capabilities::DOCKER_DEFAULT, u64::MAX];
        for (bit, _) in DOCKER_BY_CAPABILITY {
            sets.push(capabilities::DOCKER_DEFAULT | 1 << bit);
        }
        for caps in sets {
            agrees_with_reference(|| (docker_default(caps), errno(libc::EPERM)));
        }
    }

    /// A profile of random rules (the same for the same `seed`): runs of neighbouring
    /// numbers with one action or another, several rules for a number, checks of every
    /// kind on any argument.
    fn random_profile(seed: u64) -> (Vec<Rule>, Action) {
        let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::MaskedEq];
        let actions = [
            ALLOW,
            errno(1),
            errno(13),
            KILL_PROCESS,
            libc::SECCOMP_RET_LOG,
        ];
        let numbers = [
            0,
            1,
            2,
            3,
            4,
            5,
            9,
            10,
            11,
            200,
            201,
            202,
            203,
            300,
            HIGHEST as u16,
        ];
        let values = [0, 1, 5, 38, 0xffff_ffff, 1 << 32, 3 << 32 | 7];
        let mut state = seed;
        let mut pick = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize % n
        };
        let default = if seed.is_multiple_of(4) {
            ALLOW
        } else {
            actions[pick(3) + 1]
        };
        let rules = (0..pick(60))
            .map(|_| {
                let (nr, action) = (numbers[pick(numbers.len())], actions[pick(5)]);
                let args = (0..pick(4).saturating_sub(1))
                    .map(|_| Arg {
                        index: pick(6) as u8,
                        op: ops[pick(ops.len())],
                        value: values[pick(values.len())],
                        value_two: values[pick(values.len())],
                        low_only: false,
                    })
                    .collect();
                Rule { nr, action, args }
            })
            .collect();
        (rules, default)
    }

    #[test]
    fn custom_profiles_compile_to_their_rules() {
        for seed in 1..40 {
            agrees_with_reference(|| random_profile(seed));
        }
        let text = r#"{"defaultAction": "SCMP_ACT_KILL", "syscalls": [
            {"names": ["read", "write", "open", "close"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["lseek"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 2, "value": 3, "op": "SCMP_CMP_LE"}]},
            {"names": ["poll", "lseek"], "action": "SCMP_ACT_ERRNO"}]}"#;
        agrees_with_reference(|| from_profile(text, 0).unwrap());
    }

    /// Every number with a check of its own: the search's halves grow too long for a
    /// conditional jump's 8 bits, and it jumps on with `JA`.
    #[test]
    fn long_halves_are_jumped_over() {
        let checked = || {
            let check = |nr| Arg {
                index: 0,
                op: Op::Eq,
                value: u64::from(nr) % 3,
                value_two: 0,
                low_only: false,
            };
            let rules = (0..300).map(|nr| Rule {
                nr,
                action: [ALLOW, errno(1)][usize::from(nr) % 2],
                args: vec![check(nr)],
            });
            (rules.collect(), errno(libc::EPERM))
        };
        let program = compile(checked().0, errno(libc::EPERM)).unwrap();
        assert!(program.iter().any(|insn| insn.code == JA));
        agrees_with_reference(checked);
    }

    #[test]
    fn bad_profiles_are_refused_in_one_line() {
        let refused = |text: &str| from_profile(text, 0).err().unwrap().to_string();
        assert_eq!(
            refused("{"),
            "seccomp profile: not JSON in Docker's format (defaultAction, syscalls)"
        );
        assert_eq!(
            refused(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#),
            "seccomp profile: unsupported action \"SCMP_ACT_NOTIFY\""
        );
        let op = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "BOGUS"}]}]}"#;
        assert_eq!(refused(op), "seccomp profile: unsupported op \"BOGUS\"");
    }
}
