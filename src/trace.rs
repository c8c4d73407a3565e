//! `skiff run --trace` (or `SKIFF_TRACE=1`): narrate every kernel step on stderr as it
//! happens, so a reader can watch a container being assembled.
//!
//! Two levels: a *step* says why (from the `container` module's recipe), and a *call*
//! is printed by the `sys` wrapper that makes the system call, so the trace cannot drift
//! from what the code really does. Each line starts with the milliseconds since the
//! trace began (CLOCK_MONOTONIC, the same in every process skiff forks), so the trace
//! also says where a start's time goes.

use std::fmt;
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

pub fn enable() {
    STARTED.get_or_init(Instant::now);
}

pub fn on() -> bool {
    STARTED.get().is_some()
}

/// Why the next calls happen: one line per step of the recipe.
pub fn step(why: &str) {
    if let Some(started) = STARTED.get() {
        eprintln!("skiff: {:8.3} {why}", millis(started));
    }
}

/// The system call itself, indented under its step.
pub fn call(what: fmt::Arguments) {
    if let Some(started) = STARTED.get() {
        eprintln!("skiff: {:8.3}     {what}", millis(started));
    }
}

fn millis(started: &Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
