//! tinydock's headline example, end to end (issue 14): a Redis server and a Redis client
//! in two containers on one user network, the client finding the server by its name,
//! and the data on a named volume that outlives the server. The image is Debian's Redis
//! (tests/harness/build_images.py's library/redis).

use crate::testenv::{ok, TestEnv};

const NETWORK: &str = "redisnet";
const VOLUME: &str = "redisdata";

/// The network and the volume go, whatever the test's fate; the test store's
/// containers go first (TestEnv's own teardown), so nothing still uses them.
struct Example<'t>(&'t TestEnv);

impl Drop for Example<'_> {
    fn drop(&mut self) {
        let _ = self.0.skiff(&["rm", "-f", "redis"]);
        let _ = self.0.skiff(&["network", "rm", NETWORK]);
        let _ = self.0.skiff(&["volume", "rm", VOLUME]);
    }
}

fn start_server(t: &TestEnv, image: &str) {
    let volume = format!("{VOLUME}:/data");
    ok(
        t,
        &[
            "run",
            "-d",
            "--name",
            "redis",
            "--network",
            NETWORK,
            "-v",
            &volume,
            image,
        ],
    );
}

/// `redis-cli -h redis ARGS` from a container of its own on the network, once the server
/// answers: it listens a moment after `run -d` returns (at most 5 s of asking).
fn client(t: &TestEnv, image: &str, args: &str) -> String {
    let script = format!(
        "for i in $(seq 100); do redis-cli -h redis ping >/dev/null 2>&1 && break; usleep 50000; done
         exec redis-cli -h redis {args}"
    );
    ok(
        t,
        &[
            "run",
            "--rm",
            "--network",
            NETWORK,
            image,
            "sh",
            "-c",
            &script,
        ],
    )
    .trim()
    .to_string()
}

#[test]
fn a_redis_client_finds_its_server_by_name_and_the_data_outlives_the_server() {
    let t = TestEnv::new();
    let image = t.image("library/redis");
    let _example = Example(&t);
    // A subnet of its own: tests run at once, each with a store of its own, and an
    // automatic pick knows only its own store's networks (see network_ns::Network).
    ok(
        &t,
        &["network", "create", "--subnet", "10.91.0.0/24", NETWORK],
    );

    start_server(&t, &image);
    assert_eq!(client(&t, &image, "set k v"), "OK");
    assert_eq!(client(&t, &image, "get k"), "v");

    ok(&t, &["rm", "-f", "redis"]);
    start_server(&t, &image);
    assert_eq!(client(&t, &image, "get k"), "v", "the volume kept the data");

    ok(&t, &["rm", "-f", "redis"]);
    ok(&t, &["network", "rm", NETWORK]);
    ok(&t, &["volume", "rm", VOLUME]);
}
