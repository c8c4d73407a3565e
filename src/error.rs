//! One error type for all of skiff: a kind that says what failed, plus the context
//! that says what skiff was doing, outermost first.
//!
//! Rendered as one line, e.g.
//! `pull docker.io/library/alpine:latest: fetch manifest: GET https://…: 404 Not Found`.
//! The kind also decides the exit code, following `docker run`: 125 when skiff itself
//! fails, 126 when the command cannot be executed, 127 when it cannot be found.
//! <https://docs.docker.com/engine/containers/run/#exit-status>

use std::fmt;
use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    /// What skiff was doing, outermost first.
    context: Vec<String>,
}

#[derive(Debug)]
pub enum Kind {
    /// The command line was wrong.
    Usage(String),
    /// `-h`/`--help`: not a failure, but the end of the command; holds the usage text.
    Help(String),
    /// A system call returned -1.
    Sys {
        call: &'static str,
        arg: String,
        errno: io::Error,
    },
    /// A server answered with a status we cannot use.
    Http {
        url: String,
        status: u16,
        detail: String,
    },
    /// No answer at all: DNS, connect, TLS, a dropped connection.
    Net {
        url: String,
        cause: String,
    },
    /// Bytes that did not parse as the JSON we expected (miniserde says nothing more).
    Json {
        what: String,
    },
    /// Content that does not match the digest it was addressed by.
    Digest {
        what: String,
        expected: String,
        actual: String,
    },
    /// The container's command is not in its `PATH` (exit 127).
    CommandNotFound(String),
    /// The container's command exists but cannot be executed (exit 126).
    NotExecutable(String),
    /// `-it` with a stdin that is no terminal (exit 1, as Docker's client).
    NotATerminal,
    /// Anything else worth one sentence: an unsupported manifest, a hostile path.
    Invalid(String),
    /// `exec`'s command could not be started inside the container (a missing working
    /// directory, an unknown user): Docker's `exec` exits 126 for any such failure.
    CannotStart(String),
    /// What Docker's daemon refuses outright, where its CLI exits 1: `exec` into a
    /// container that does not exist or is not running.
    Refused(String),
    Io(io::Error),
}

// The constructors and `context` below are called from hundreds of places, on the
// failure path: compiled once, out of line, they keep 12 KB out of the static binary
// (README, "Size"); a call costs nothing next to the system call that failed.
impl Error {
    #[inline(never)]
    pub fn new(kind: Kind) -> Self {
        Error {
            kind,
            context: Vec::new(),
        }
    }

    #[inline(never)]
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::new(Kind::Usage(msg.into()))
    }

    #[inline(never)]
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::new(Kind::Invalid(msg.into()))
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The errno behind a failed system call or I/O operation, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match &self.kind {
            Kind::Sys { errno, .. } | Kind::Io(errno) => errno.raw_os_error(),
            _ => None,
        }
    }

    /// Wraps the error in one more layer of "what we were doing".
    #[inline(never)]
    pub fn context(mut self, what: impl Into<String>) -> Self {
        self.context.insert(0, what.into());
        self
    }

    /// `docker run`'s exit codes for failures that happen before the command runs.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::CommandNotFound(_) => 127,
            Kind::NotExecutable(_) => 126,
            Kind::NotATerminal => 1,
            Kind::CannotStart(_) => 126,
            Kind::Refused(_) => 1,
            _ => 125,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for what in &self.context {
            write!(f, "{what}: ")?;
        }
        match &self.kind {
            Kind::Usage(msg)
            | Kind::Help(msg)
            | Kind::Invalid(msg)
            | Kind::CannotStart(msg)
            | Kind::Refused(msg) => write!(f, "{msg}"),
            Kind::Sys { call, arg, errno } => write!(f, "{call}({arg}): {errno}"),
            Kind::Http {
                url,
                status,
                detail,
            } => {
                write!(f, "GET {url}: {status}")?;
                if !detail.is_empty() {
                    write!(f, " {detail}")?;
                }
                Ok(())
            }
            Kind::Net { url, cause } => write!(f, "GET {url}: {cause}"),
            Kind::Json { what } => write!(f, "malformed JSON in {what}"),
            Kind::Digest {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what}: digest mismatch: expected {expected}, got {actual}"
            ),
            Kind::CommandNotFound(cmd) => {
                write!(f, "exec \"{cmd}\": executable file not found in $PATH")
            }
            Kind::NotExecutable(cmd) => write!(f, "exec \"{cmd}\": permission denied"),
            Kind::NotATerminal => write!(f, "the input device is not a TTY"),
            Kind::Io(err) => write!(f, "{err}"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::new(Kind::Io(err))
    }
}

/// `.context("fetch manifest")` on any result whose error converts into [`Error`].
pub trait Context<T> {
    fn context(self, what: impl Into<String>) -> Result<T>;
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    #[inline(never)]
    fn context(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }

    #[inline(never)]
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_reads_outermost_first() {
        let err = Error::new(Kind::Http {
            url: "https://r/v2/x/manifests/1".into(),
            status: 404,
            detail: "Not Found".into(),
        })
        .context("fetch manifest")
        .context("pull x:1");
        assert_eq!(
            err.to_string(),
            "pull x:1: fetch manifest: GET https://r/v2/x/manifests/1: 404 Not Found"
        );
    }

    #[test]
    fn exit_codes_follow_docker() {
        assert_eq!(
            Error::new(Kind::CommandNotFound("x".into())).exit_code(),
            127
        );
        assert_eq!(Error::new(Kind::NotExecutable("x".into())).exit_code(), 126);
        assert_eq!(Error::usage("bad flag").exit_code(), 125);
        assert_eq!(Error::new(Kind::Refused("x".into())).exit_code(), 1);
        assert_eq!(Error::new(Kind::CannotStart("x".into())).exit_code(), 126);
    }

    #[test]
    fn sys_errors_name_the_call_and_argument() {
        let err = Error::new(Kind::Sys {
            call: "pivot_root",
            arg: "/r".into(),
            errno: io::Error::from_raw_os_error(libc::EINVAL),
        });
        assert_eq!(
            err.to_string(),
            "pivot_root(/r): Invalid argument (os error 22)"
        );
    }
}
