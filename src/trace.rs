//! `skiff run --trace` (or `SKIFF_TRACE=1`): narrate every kernel step on stderr as it
//! happens, so a reader can watch a container being assembled.
//!
//! Two levels: a *step* says why (from the `container` module's recipe), and a *call*
//! is printed by the `sys` wrapper that makes the system call, so the trace cannot drift
//! from what the code really does.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Why the next calls happen: one line per step of the recipe.
pub fn step(why: &str) {
    if on() {
        eprintln!("skiff: {why}");
    }
}

/// The system call itself, indented under its step.
pub fn call(what: fmt::Arguments) {
    if on() {
        eprintln!("skiff:     {what}");
    }
}
