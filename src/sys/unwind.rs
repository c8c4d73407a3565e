//! The unwinder's entry points, answered without an unwinder.
//!
//! A Rust panic can unwind the stack: the Itanium C++ ABI's two-phase unwinder walks
//! the frames by the tables in `.eh_frame` and runs each frame's cleanups through a
//! "personality" routine. skiff never unwinds: it builds with `panic = "abort"`, and its
//! static binary is linked without those tables (the Makefile's NO_UNWIND script).
//! std still names the unwinder's functions, for three things skiff never does: the
//! cleanups of std's own precompiled code (`_Unwind_Resume`), its personality routine
//! (the `_Unwind_Get*`/`_Set*` calls), and the frames of a panic's backtrace with
//! `RUST_BACKTRACE` set (`_Unwind_Backtrace`). Each name pulled LLVM's libunwind
//! (`libunwind.a`, bundled with the musl target) into the binary: its DWARF CFI
//! interpreter and, for its debug messages, musl's printf, 60 KB in all.
//!
//! The linker takes a symbol from an archive only while it is undefined, and these
//! definitions come first, so none of libunwind is linked. They answer as libunwind
//! did in this binary: with no tables it found no frame to walk, and a backtrace
//! printed none (`_Unwind_Backtrace` reports the end of the stack at once). The
//! others can only be reached with a frame from an unwinder, which never exists here.
//! The build that keeps the tables (tests, any target but the Makefile's) keeps the
//! real unwinder: this module is compiled only with `--cfg no_unwind_tables` and
//! `panic = "abort"`.
//!
//! <https://itanium-cxx-abi.github.io/cxx-abi/abi-eh.html>
//! <https://doc.rust-lang.org/reference/linkage.html#prohibited-linkage-and-unwinding>

use std::ffi::{c_int, c_void};

/// `_URC_END_OF_STACK`: the walk found no (further) frame.
const END_OF_STACK: c_int = 5;

type Context = *mut c_void;

// SAFETY (all below): each is a C-ABI definition of a libunwind symbol that nothing
// else in the link defines (libunwind.a is then never searched for it); none reads
// its arguments.

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Backtrace(_trace: *const c_void, _arg: *mut c_void) -> c_int {
    END_OF_STACK
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetIP(_context: Context) -> usize {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetIPInfo(_context: Context, _before: *mut c_int) -> usize {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetRegionStart(_context: Context) -> usize {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetTextRelBase(_context: Context) -> usize {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetDataRelBase(_context: Context) -> usize {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetLanguageSpecificData(_context: Context) -> *mut c_void {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_SetGR(_context: Context, _register: c_int, _value: usize) {
    std::process::abort()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_SetIP(_context: Context, _value: usize) {
    std::process::abort()
}
