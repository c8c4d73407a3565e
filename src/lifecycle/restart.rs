//! `--restart`: services that stay up, with no daemon to bring them back.
//!
//! Docker's daemon restarts a container whose policy asks for it. skiff's supervisor
//! waits for a detached container anyway (see `supervisor`; an attached one gets a
//! supervisor of its own when it is to be restarted), so it does: when the
//! container ends it records the exit, asks [`Policy::wants`], waits the back-off and
//! starts it again by the path `skiff start` takes. Nothing of the last run is
//! reused: its PID and mount namespaces, cgroup and network address went with its
//! PID 1, so each start makes its own.
//!
//! The back-off is Docker's restart manager's: 100 ms, doubled at each restart up to
//! a minute, and 100 ms again once a run lasted 10 s, so that a crash loop costs little
//! and a service that crashes once a day comes back at once. While it waits the
//! container is "restarting", and its supervisor holds SIGTERM blocked and reads it
//! from a signalfd(2), so that `stop` can end the wait.
//!
//! A user's `stop`, or `kill` with SIGKILL or the stop signal, ends restarting for
//! good: it leaves a `stopped` mark in the container's directory before it signals,
//! the supervisor reads the mark before each restart, and a user's `start` removes it.
//! At boot nothing is left to restart anything: `skiff start --restartable` (run by
//! the init system) starts what Docker's daemon would start when it comes up
//! ([`at_boot`]).
//! <https://docs.docker.com/engine/containers/start-containers-automatically/>
//! <https://man7.org/linux/man-pages/man2/signalfd.2.html>

use std::time::Duration;

use super::Container;
use crate::container::Config;
use crate::error::{Context, Error, Result};

/// What `--restart` says to do when the container ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    No,
    Always,
    UnlessStopped,
    /// After a non-zero exit, at most this many times (0: no limit).
    OnFailure(u32),
}

impl Policy {
    /// `no`, `always`, `unless-stopped`, `on-failure[:N]`, as `docker run` takes them.
    pub fn parse(text: &str) -> Result<Policy> {
        let (name, count) = match text.split_once(':') {
            Some((name, count)) => (name, Some(count)),
            None => (text, None),
        };
        let count = count.map(str::parse).transpose();
        let policy = match (name, count) {
            ("no", Ok(None)) => Policy::No,
            ("always", Ok(None)) => Policy::Always,
            ("unless-stopped", Ok(None)) => Policy::UnlessStopped,
            ("on-failure", Ok(count)) => Policy::OnFailure(count.unwrap_or(0)),
            _ => return Err(Error::usage(format!("invalid restart policy {text:?}"))),
        };
        Ok(policy)
    }

    /// The container's, as recorded (checked when it was created).
    pub fn of(config: &Config) -> Policy {
        config
            .restart
            .as_deref()
            .and_then(|text| Policy::parse(text).ok())
            .unwrap_or(Policy::No)
    }

    /// Docker's name for it and its maximum retry count, as `inspect` shows them.
    pub fn name(self) -> (&'static str, u32) {
        match self {
            Policy::No => ("no", 0),
            Policy::Always => ("always", 0),
            Policy::UnlessStopped => ("unless-stopped", 0),
            Policy::OnFailure(count) => ("on-failure", count),
        }
    }

    /// Whether a container that ended with `exit_code`, restarted `restarts` times so
    /// far, is to start again (a user's stop aside).
    pub fn wants(self, exit_code: i32, restarts: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::Always | Policy::UnlessStopped => true,
            Policy::OnFailure(most) => exit_code != 0 && (most == 0 || restarts < most),
        }
    }
}

/// The wait before each restart: Docker's restart manager's.
#[derive(Default)]
pub struct Backoff {
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MOST: Duration = Duration::from_secs(60);
    /// A run this long proves the service healthy again: the back-off starts over.
    const HEALTHY: Duration = Duration::from_secs(10);

    /// The wait before restarting a container whose last run lasted `up`.
    pub fn next(&mut self, up: Duration) -> Duration {
        self.delay = match self.delay {
            _ if up >= Self::HEALTHY => Self::FIRST,
            Duration::ZERO => Self::FIRST,
            delay => (delay * 2).min(Self::MOST),
        };
        self.delay
    }
}

/// Records that the user stopped `container`: no more restarts until a user starts it.
pub fn mark_stopped(container: &Container) -> Result<()> {
    let mark = container.dir.join("stopped");
    std::fs::write(&mark, "").with_context(|| format!("write {}", mark.display()))
}

/// Forgets [`mark_stopped`]: the user starts it again.
pub fn unmark(container: &Container) {
    let _ = std::fs::remove_file(container.dir.join("stopped")); // absent: nothing to forget
}

pub fn stopped_by_user(container: &Container) -> bool {
    container.dir.join("stopped").exists()
}

/// Whether Docker's daemon would start this stopped container when it comes up: its
/// policy asks, and `unless-stopped` was not stopped by the user. One that was
/// running when the machine went down counts as failed (see `Container::exit_code`).
pub fn at_boot(container: &Container) -> bool {
    let policy = Policy::of(&container.config);
    let restarts = container.state.restart_count.unwrap_or(0);
    policy.wants(container.exit_code(), restarts)
        && !(policy == Policy::UnlessStopped && stopped_by_user(container))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_like_dockers() {
        assert_eq!(Policy::parse("no").unwrap(), Policy::No);
        assert_eq!(Policy::parse("always").unwrap(), Policy::Always);
        assert_eq!(
            Policy::parse("unless-stopped").unwrap(),
            Policy::UnlessStopped
        );
        assert_eq!(Policy::parse("on-failure").unwrap(), Policy::OnFailure(0));
        assert_eq!(Policy::parse("on-failure:3").unwrap(), Policy::OnFailure(3));
        for bad in ["sometimes", "on-failure:x", "on-failure:-1", "always:3", ""] {
            let err = Policy::parse(bad).unwrap_err().to_string();
            assert_eq!(err, format!("invalid restart policy {bad:?}"));
        }
    }

    #[test]
    fn on_failure_counts_failures_only() {
        let policy = Policy::OnFailure(3);
        assert!(policy.wants(1, 0) && policy.wants(1, 2));
        assert!(!policy.wants(1, 3));
        assert!(!policy.wants(0, 0));
        assert!(Policy::OnFailure(0).wants(1, 1000));
        assert!(Policy::Always.wants(0, 1000));
        assert!(!Policy::No.wants(1, 0));
    }

    #[test]
    fn the_backoff_doubles_to_a_minute_and_starts_over_after_a_healthy_run() {
        let mut backoff = Backoff::default();
        let quick = Duration::from_millis(5);
        let waits: Vec<u128> = (0..4).map(|_| backoff.next(quick).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
        for _ in 0..20 {
            backoff.next(quick);
        }
        assert_eq!(backoff.next(quick), Duration::from_secs(60));
        assert_eq!(backoff.next(Duration::from_secs(10)).as_millis(), 100);
    }
}
