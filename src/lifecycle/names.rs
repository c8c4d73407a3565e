//! Names for containers that were not given one, Docker-style: `adjective_scientist`.
//! They only need to be memorable and unused, so the lists are short.

use super::Container;
use crate::error::{Error, Result};
use crate::sys;

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fond", "gentle", "happy", "keen", "lucid", "merry", "nimble",
    "patient", "quiet", "sharp", "steady", "vivid", "witty",
];

const SCIENTISTS: [&str; 16] = [
    "curie",
    "darwin",
    "euler",
    "faraday",
    "hopper",
    "hypatia",
    "kepler",
    "lovelace",
    "meitner",
    "noether",
    "pasteur",
    "ramanujan",
    "ritchie",
    "thompson",
    "torvalds",
    "turing",
];

/// A random name no container in `taken` has; a number is added once the pairs run out.
pub fn unused(taken: &[Container]) -> Result<String> {
    let in_use = |name: &str| taken.iter().any(|c| c.config.name == name);
    for attempt in 0..64u32 {
        let mut bytes = [0u8; 2];
        sys::getrandom(&mut bytes)?;
        let adjective = ADJECTIVES[usize::from(bytes[0]) % ADJECTIVES.len()];
        let scientist = SCIENTISTS[usize::from(bytes[1]) % SCIENTISTS.len()];
        let name = match attempt {
            0..=31 => format!("{adjective}_{scientist}"),
            n => format!("{adjective}_{scientist}{n}"),
        };
        if !in_use(&name) {
            return Ok(name);
        }
    }
    Err(Error::invalid(
        "could not find an unused container name: pass --name",
    ))
}

/// Docker's rule for `--name`: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok {
        return Ok(());
    }
    Err(Error::usage(format!(
        "invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        assert!(validate("web-1.a_b").is_ok());
        assert!(validate("_web").is_err());
        assert!(validate("").is_err());
        assert!(validate("a/b").is_err());
    }

    #[test]
    fn generated_names_are_unused_and_valid() {
        let name = unused(&[]).unwrap();
        assert!(validate(&name).is_ok());
        assert!(name.contains('_'));
    }
}
