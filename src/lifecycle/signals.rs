//! Signal names as `docker kill -s` and `--stop-signal` take them: `TERM`, `SIGTERM`,
//! `sigterm` or `15`.
//! <https://man7.org/linux/man-pages/man7/signal.7.html>

use crate::error::{Error, Result};

const NAMES: [(&str, libc::c_int); 19] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("WINCH", libc::SIGWINCH),
];

pub fn parse(text: &str) -> Result<libc::c_int> {
    let invalid = || Error::usage(format!("invalid signal: {text}"));
    if let Ok(number) = text.parse::<libc::c_int>() {
        return match number {
            1..=64 => Ok(number),
            _ => Err(invalid()),
        };
    }
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    NAMES
        .iter()
        .find(|(name, _)| *name == bare)
        .map(|&(_, number)| number)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_accepted() {
        assert_eq!(parse("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse("9").unwrap(), 9);
        assert!(parse("SIGNOPE").is_err());
        assert!(parse("0").is_err());
    }
}
