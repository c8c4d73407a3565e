//! skiff's integration tests: one binary, a module per area. They run the real static
//! binary against the real registry server that `tests/harness/with-registry.sh`
//! starts (run them with `make test`), with real namespaces and mounts.

mod archive;
mod cgroups;
mod cli;
mod containerd;
mod devices;
mod exec;
mod format;
mod hardening;
mod hostile;
mod house;
mod images;
mod info;
mod lifecycle;
mod logs;
mod moving;
mod names;
mod network;
mod network_ns;
mod oci;
mod podman;
mod ports;
mod pull;
mod registry_extras;
mod restart;
mod rootfs;
mod rootless;
mod run;
mod runflags;
mod seccomp;
mod store;
mod terminal;
mod testenv;
mod tinydock;
mod userns;
mod volumes;
