# skiff: `make` builds the static binary; `make test` is what CI runs.
TARGET   := x86_64-unknown-linux-musl
BIN      := target/$(TARGET)/release/skiff
HARNESS  := tests/harness/with-registry.sh
# ring's C and assembly build fine with musl-gcc (musl-tools) or plain gcc.
export CC_x86_64_unknown_linux_musl ?= $(shell command -v musl-gcc >/dev/null && echo musl-gcc || echo gcc)

.PHONY: all build deps test demo install clean docker-test bench test-vm

all: build

build: $(BIN)

# Link flags for size (issue 7; measured, see README "Size"). Cargo.toml cannot carry
# them on stable, and they concern only the static binary, so they go to the musl target:
# - `-z pack-relative-relocs`: a static-pie fixes up its own pointers at start; as DT_RELR
#   (applied by musl >= 1.2.4's startup code, Rust ships 1.2.5) those 94 KB of
#   R_X86_64_RELATIVE entries become 1 KB. It stays a PIE, so it still loads at a random
#   address (non-PIE `-C relocation-model=static` saves the same but gives that up).
# - $(NO_UNWIND): drops the DWARF unwind tables, .eh_frame and .gcc_except_table (280 KB,
#   mostly from the precompiled std). With panic = "abort" nothing ever unwinds: a panic
#   prints its message and aborts as before; only RUST_BACKTRACE loses its frames, which
#   in a stripped binary were all `<unknown>`. crtbegin's own entry stays, as crtbegin
#   refers to it. No linker flag drops them; a linker script inserted into ld's default
#   one can (`-C force-unwind-tables=no` cannot reach the std that ships compiled).
# - `--cfg no_unwind_tables`: with no tables, the unwinder has nothing to walk, so skiff
#   defines its entry points itself (src/sys/unwind.rs) and libunwind is not linked; its
#   `_Unwind_Backtrace` finds no frame at once, as libunwind did here, and LTO then drops
#   std's backtrace symbolizer too (gimli, addr2line, the demangler): -256,600 bytes.
# - `--wrap=memcpy` with `--cfg wrap_memcpy` (issue 15): every call to memcpy reaches
#   src/sys/memcpy.rs first, which copies up to 64 bytes itself and hands longer copies to
#   musl's; inflating a layer makes tens of millions of short ones (its back-references).
NO_UNWIND := target/no-unwind-tables.ld
LINK_FLAGS := -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,-T,$(CURDIR)/$(NO_UNWIND) \
	      --cfg no_unwind_tables -C link-arg=-Wl,--wrap=memcpy --cfg wrap_memcpy
# Not a link flag but the same kind of saving: a panic's location names its source file,
# and a dependency's file by its path under cargo's registry, e.g. `/root/.cargo/
# registry/src/index.crates.io-1949cf8c6b5b557f/libflate-2.3.2/src/deflate/decode.rs`.
# Remapping each registry directory to nothing leaves `libflate-2.3.2/src/…`: 148 such
# names, 8.9 KB shorter (the binary: −8,192 bytes), and no builder's home directory in
# the binary. The directories exist only once the crates are fetched, hence `cargo fetch`
# before they are listed.
CARGO_SRC = $${CARGO_HOME:-$$HOME/.cargo}/registry/src
REMAP = $$(for dir in $(CARGO_SRC)/*/; do printf ' --remap-path-prefix=%s=' "$$dir"; done)

$(NO_UNWIND): Makefile
	@mkdir -p $(@D)
	echo 'SECTIONS { /DISCARD/ : { EXCLUDE_FILE(*crtbegin*.o *crtend*.o) *(.eh_frame)' \
	     '*(.gcc_except_table .gcc_except_table.*) } } INSERT AFTER .text;' > $@

$(BIN): Cargo.toml Cargo.lock Makefile $(NO_UNWIND) $(shell find src -name '*.rs')
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)
	cargo fetch --locked --target $(TARGET)
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(LINK_FLAGS)$(REMAP)" \
	  cargo build --release --locked --target $(TARGET)
	@echo "skiff: $(BIN) is $$(stat -c %s $(BIN)) bytes"

# Everything the tests and the demo run, from Debian (tests/harness/programs.txt lists
# each program and its package); then a check that each is there and that the list
# still names every program the code runs.
deps:
	tests/harness/deps.sh
	tests/harness/check-deps.sh

# Unit tests, then the integration suite against the real registry (the static binary
# is what gets tested), then a check that nothing of skiff was left behind.
test: deps build
	cargo fmt --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo test --locked --workspace --bins --lib
	SKIFF_BIN=$(CURDIR)/$(BIN) $(HARNESS) cargo test --locked --test main
	$(HARNESS) tests/docker-test.sh
	$(HARNESS) tests/vm/test-vm.sh
	tests/harness/remove-networks.sh
	tests/harness/remove-cgroups.sh
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
	tests/harness/deps.sh bench
	tests/harness/check-deps.sh bench
	SKIFF_BIN=$(CURDIR)/$(BIN) $(HARNESS) tests/bench/run-all.sh

# cgroup v2 on a real kernel: Debian's, booted under qemu with an initramfs holding only
# the static binary, busybox and a saved image (TCG; SKIFF_VM_ACCEL=kvm where KVM works).
test-vm: deps build
	$(HARNESS) tests/vm/test-vm.sh
