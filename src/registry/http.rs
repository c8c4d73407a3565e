//! Reading a registry's HTTP answers, for the session (`client`) and the token
//! exchange (`auth`) alike: a header's value, a body read whole but only up to a limit
//! (a hostile server could send gigabytes), and an error body turned into one sentence.
//! The distribution-spec's error format is `{"errors":[{"code","message","detail"}]}`;
//! some servers answer `{"details": "…"}` instead.
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes>

use miniserde::{json, Deserialize};
use ureq::http::Response;
use ureq::Body;

use super::transport::{Agent, ATTEMPTS};
use crate::error::{Error, Kind, Result};

/// GET a small text document that must answer 200 (used for tokens).
pub fn get_small(
    agent: &Agent,
    url: &str,
    query: &[(&str, &String)],
    authorization: Option<&str>,
    limit: u64,
) -> Result<String> {
    let mut headers = vec![("Accept", "application/json".to_string())];
    if let Some(authorization) = authorization {
        headers.push(("Authorization", authorization.to_string()));
    }
    let response = agent.get(url, query, &headers)?;
    if response.status() != 200 {
        return Err(status_error(url, response));
    }
    let bytes = read_limited(response, limit)?;
    String::from_utf8(bytes).map_err(|_| Error::invalid(format!("{url} answered with non-UTF-8")))
}

/// A header's value, if it is there and is text.
pub fn header(response: &Response<Body>, name: &str) -> Option<String> {
    let value = response.headers().get(name)?;
    value.to_str().ok().map(str::to_string)
}

/// The whole body, refused once it passes `limit` bytes.
pub fn read_limited(response: Response<Body>, limit: u64) -> Result<Vec<u8>> {
    let url = response_url(&response);
    response
        .into_body()
        .into_with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                Error::invalid(format!("{url}: document larger than {limit} bytes refused"))
            }
            other => Error::new(Kind::Net {
                url,
                cause: other.to_string(),
            }),
        })
}

fn response_url(response: &Response<Body>) -> String {
    use ureq::ResponseExt;
    response.get_uri().to_string()
}

/// What went wrong, in the registry's words: status plus its first error message.
struct Failure {
    status: u16,
    detail: String,
    retry_after: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Option<Vec<ErrorEntry>>,
    details: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

fn response_detail(response: Response<Body>) -> Failure {
    let status = response.status().as_u16();
    let retry_after = header(&response, "retry-after");
    let body = read_limited(response, 64 << 10).unwrap_or_default();
    let parsed: Option<ErrorBody> = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| json::from_str(text).ok());
    let detail = parsed
        .and_then(|b| {
            let first = b.errors.and_then(|e| e.into_iter().next());
            let from_entry = first.map(|e| {
                let code = e.code.unwrap_or_default().to_ascii_lowercase();
                let message = e.message.unwrap_or_default();
                if message.is_empty() {
                    code
                } else {
                    message
                }
            });
            from_entry.or(b.details)
        })
        .unwrap_or_default();
    Failure {
        status,
        detail,
        retry_after,
    }
}

/// The registry's own words for a failure, read from the response's body.
pub fn detail(response: Response<Body>) -> String {
    response_detail(response).detail
}

/// The error for an answer that is not the one asked for: its status, in the
/// registry's words, with a hint where the status has a usual cause.
pub fn status_error(url: &str, response: Response<Body>) -> Error {
    let failure = response_detail(response);
    let mut detail = failure.detail;
    match failure.status {
        401 | 403 => detail.push_str(
            " (pull access denied: the repository does not exist or needs 'docker login')",
        ),
        429 => {
            detail.push_str(" (rate limited by the registry");
            if let Some(after) = failure.retry_after {
                detail.push_str(&format!("; retry after {after} s"));
            }
            detail.push(')');
        }
        // Only these are retried: reaching here, it was the last of the attempts.
        500 | 502 | 503 | 504 => detail.push_str(&format!(" (tried {ATTEMPTS} times)")),
        _ => {}
    }
    Error::new(Kind::Http {
        url: url.to_string(),
        status: failure.status,
        detail: detail.trim().to_string(),
    })
}
