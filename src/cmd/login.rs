//! `skiff login` and `skiff logout`: credentials in `~/.docker/config.json`, the file
//! Docker itself reads and writes, or in the credential helper (`credsStore`,
//! `credHelpers`) that file names, so one login serves both.

use std::io::BufRead;

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::reference::DOCKER_HUB;
use crate::registry;

pub const HELP: &str = "Usage:  skiff login [OPTIONS] [SERVER]

Log in to a registry (Docker Hub when no server is given)

Options:
  -h, --help             Print usage
  -p, --password string  Password
      --password-stdin   Take the password from stdin
  -u, --username string  Username";

pub const LOGOUT_HELP: &str = "Usage:  skiff logout [SERVER]

Log out from a registry (Docker Hub when no server is given)";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut user, mut password, mut from_stdin) = (None, None, false);
    let options = &mut [
        Opt::Value(&["-u", "--username"], &mut user),
        Opt::Value(&["-p", "--password"], &mut password),
        Opt::Switch(&["--password-stdin"], &mut from_stdin),
    ];
    let rest = cli::parse(argv, "login", HELP, options)?;
    let registry = server(rest)?;
    let user = user.ok_or_else(|| Error::usage("a username is needed: -u USER"))?;
    let password = match (password, from_stdin) {
        (Some(_), true) => {
            return Err(Error::usage(
                "--password and --password-stdin are mutually exclusive",
            ))
        }
        (Some(password), false) => password,
        (None, true) => read_password()?,
        (None, false) => return Err(Error::usage("a password is needed: -p or --password-stdin")),
    };
    registry::login(&registry, &user, &password).with_context(|| format!("login {registry}"))?;
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout_main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "logout", LOGOUT_HELP, &mut [])?;
    let registry = server(rest)?;
    let forgotten = registry::logout(&registry).with_context(|| format!("logout {registry}"))?;
    match forgotten {
        true => println!("Removing login credentials for {registry}"),
        false => println!("Not logged in to {registry}"),
    }
    Ok(0)
}

/// The registry a SERVER argument names, as Docker reads it: none, `docker.io`,
/// `index.docker.io` or its historical URL mean Docker Hub; a scheme is dropped.
fn server(rest: Vec<String>) -> Result<String> {
    let server = match &rest[..] {
        [] => return Ok(DOCKER_HUB.into()),
        [server] => server,
        _ => return Err(Error::usage("at most one server may be given")),
    };
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    Ok(match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.into(),
        "" => return Err(Error::usage(format!("invalid server {server:?}"))),
        host => host.into(),
    })
}

/// One line of stdin, without its newline (`echo "$TOKEN" | skiff login --password-stdin`).
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Error::usage("the password on stdin is empty"));
    }
    Ok(password)
}
