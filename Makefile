# skiff: `make` builds the static binary; `make test` is what CI runs.
TARGET   := x86_64-unknown-linux-musl
BIN      := target/$(TARGET)/release/skiff
HARNESS  := tests/harness/with-registry.sh
# ring's C and assembly build fine with musl-gcc (musl-tools) or plain gcc.
export CC_x86_64_unknown_linux_musl ?= $(shell command -v musl-gcc >/dev/null && echo musl-gcc || echo gcc)

.PHONY: all build deps test demo install clean docker-test bench test-vm

all: build

build: $(BIN)

$(BIN): Cargo.toml Cargo.lock $(shell find src -name '*.rs')
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)
	cargo build --release --locked --target $(TARGET)
	@echo "skiff: $(BIN) is $$(stat -c %s $(BIN)) bytes"

# Everything the tests and the demo need from Debian: the registry server, busybox, musl.
deps:
	tests/harness/deps.sh

# Unit tests, then the integration suite against the real registry (the static binary
# is what gets tested), then a check that nothing of skiff was left behind.
test: deps build
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo test --locked --bins
	SKIFF_BIN=$(CURDIR)/$(BIN) $(HARNESS) cargo test --locked --test main
	$(HARNESS) tests/docker-test.sh
	$(HARNESS) tests/vm/test-vm.sh
	tests/harness/check-leaks.sh

# The main job with no internet: pull from the local registry and run.
demo: deps build
	$(HARNESS) sh -c '$(BIN) run $$SKIFF_TEST_PLAIN/library/busybox echo hello'

install: build
	install -m 0755 $(BIN) /usr/local/bin/skiff

clean:
	cargo clean

# The CodeCrafters way: skiff inside a container started with --cap-add=SYS_ADMIN.
docker-test: deps build
	$(HARNESS) tests/docker-test.sh

# Speed and footprint next to crun, runc, podman and the shell baselines, in one run:
# tables to stdout and tests/bench/RESULTS.md. Takes minutes; not part of `make test`.
bench: deps build
	SKIFF_BIN=$(CURDIR)/$(BIN) $(HARNESS) tests/bench/run-all.sh

# cgroup v2 on a real kernel: Debian's, booted under qemu with an initramfs holding only
# the static binary, busybox and a saved image (TCG; SKIFF_VM_ACCEL=kvm where KVM works).
test-vm: deps build
	$(HARNESS) tests/vm/test-vm.sh
