//! Docker's credential helpers: small programs that keep registry passwords in the
//! system's keychain (or `pass`, or a cloud's token service) instead of config.json.
//!
//! `config.json` names them: `"credHelpers": {"ghcr.io": "gh"}` for one registry, or
//! `"credsStore": "desktop"` for all the others. Helper `NAME` is the program
//! `docker-credential-NAME` on `PATH`, spoken to with one action as its argument and a
//! little text on stdin:
//!
//! - `get`: the server URL on stdin (Docker Hub's is `https://index.docker.io/v1/`);
//!   `{"ServerURL":…,"Username":…,"Secret":…}` on stdout, or, failing,
//!   `credentials not found in native keychain`, which just means "anonymous";
//! - `store`: that same JSON object on stdin;
//! - `erase`: the server URL on stdin.
//!
//! Anything else a helper says while exiting non-zero is an error, reported in its words.
//! <https://docs.docker.com/reference/cli/docker/login/#credential-helper-protocol>
//! <https://github.com/docker/docker-credential-helpers>

use miniserde::{json, Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::host_program;
use crate::sys::Exit;

/// What every helper prints (on stdout, exiting non-zero) when it has nothing stored.
const NOT_FOUND: &str = "credentials not found";

#[derive(Serialize, Deserialize)]
struct Credentials {
    #[serde(rename = "ServerURL")]
    server_url: Option<String>,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// What a helper answered.
enum Answer {
    Done(Vec<u8>),
    NotFound,
}

/// `docker-credential-NAME get`: (user, secret) for `server`, or `None` for anonymous.
pub fn get(name: &str, server: &str) -> Result<Option<(String, String)>> {
    let Answer::Done(out) = call(name, "get", server.as_bytes())? else {
        return Ok(None);
    };
    let credentials: Credentials = std::str::from_utf8(&out)
        .ok()
        .and_then(|text| json::from_str(text).ok())
        .ok_or_else(|| {
            Error::new(Kind::Json {
                what: format!("the answer of docker-credential-{name} get"),
            })
        })?;
    let anonymous = credentials.username.is_empty() && credentials.secret.is_empty();
    Ok((!anonymous).then_some((credentials.username, credentials.secret)))
}

/// `docker-credential-NAME store`: keeps `user` and `secret` for `server`.
pub fn store(name: &str, server: &str, user: &str, secret: &str) -> Result<()> {
    let credentials = Credentials {
        server_url: Some(server.into()),
        username: user.into(),
        secret: secret.into(),
    };
    call(name, "store", json::to_string(&credentials).as_bytes()).map(drop)
}

/// `docker-credential-NAME erase`: forgets `server`; false if nothing was stored.
pub fn erase(name: &str, server: &str) -> Result<bool> {
    Ok(matches!(
        call(name, "erase", server.as_bytes())?,
        Answer::Done(_)
    ))
}

/// Runs the helper with `input` on stdin and judges its exit status and output.
fn call(name: &str, action: &str, input: &[u8]) -> Result<Answer> {
    let program = program(name)?;
    let failed = |why: String| Error::invalid(format!("{program} {action}: {why}"));
    let (exit, stdout, stderr) =
        host_program::run(&program, &[action], input).map_err(|e| match e.kind() {
            Kind::CommandNotFound(_) => failed("not found in $PATH".into()),
            _ => failed(e.to_string()),
        })?;
    if exit == Exit::Code(0) {
        return Ok(Answer::Done(stdout));
    }
    let said = [&stdout, &stderr]
        .iter()
        .map(|text| String::from_utf8_lossy(text).trim().to_string())
        .find(|text| !text.is_empty());
    match said {
        Some(text) if text.contains(NOT_FOUND) => Ok(Answer::NotFound),
        Some(text) => Err(failed(first_line(&text))),
        None => Err(failed(match exit {
            Exit::Code(code) => format!("exit status: {code}"),
            Exit::Signal(signal) => format!("signal: {signal}"),
        })),
    }
}

/// `docker-credential-NAME`, for a NAME that can only be a program on `PATH`: config.json
/// is not trusted to point at `../../anything`.
fn program(name: &str) -> Result<String> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    if !plain {
        return Err(Error::invalid(format!(
            "credential helper {name:?} in config.json is not a plain name"
        )));
    }
    Ok(format!("docker-credential-{name}"))
}

/// A helper's message, kept to one line of at most 200 characters.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names_are_plain_program_names() {
        assert_eq!(program("desktop").unwrap(), "docker-credential-desktop");
        assert_eq!(program("ecr-login").unwrap(), "docker-credential-ecr-login");
        for hostile in ["../../bin/sh", "a/b", "", "..", "x y"] {
            let err = program(hostile).unwrap_err().to_string();
            assert!(err.contains("is not a plain name"), "{hostile}: {err}");
        }
    }

    #[test]
    fn the_store_request_is_the_protocols_json() {
        let credentials = Credentials {
            server_url: Some("https://index.docker.io/v1/".into()),
            username: "alice".into(),
            secret: "wonder\"land".into(),
        };
        assert_eq!(
            json::to_string(&credentials),
            r#"{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"wonder\"land"}"#
        );
    }

    #[test]
    fn messages_are_cut_to_one_short_line() {
        assert_eq!(first_line("bad\nworse"), "bad");
        assert_eq!(first_line(&"x".repeat(300)).chars().count(), 201);
    }
}
