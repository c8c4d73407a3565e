//! Short copies in a few moves instead of musl's `memcpy`.
//!
//! Inflating a layer (DEFLATE, RFC 1951) is mostly LZ77 back-references: "copy 3 to
//! 258 bytes from N bytes back". libflate makes each one a `memcpy` call with a length
//! known only at run time (`rle-decode-fast`'s `copy_nonoverlapping`), tens of millions
//! of calls for a Debian image. musl's x86-64 `memcpy` is made for long copies: byte
//! moves to align the destination, `rep movsq`, byte moves for the rest; on a short
//! copy the start-up of `rep movsq` is most of its cost, and it was 16% of an unpack's
//! user CPU (perf, `bench/debian:large` into a tmpfs).
//!
//! The static binary is linked with `--wrap=memcpy` (the Makefile), so every call to
//! `memcpy` in it, std's and libc's own included, reaches `__wrap_memcpy` and the real
//! one is `__real_memcpy`. Up to 64 bytes are copied here as glibc does it: the first
//! and the last few bytes, as unaligned loads and stores that overlap in the middle
//! (two 8-byte moves cover 8 to 16 bytes, whatever the length); longer copies go on to
//! musl's. All loads come before the stores, so even overlapping buffers (which
//! `memcpy` need not handle) come out as `memmove` would leave them. Straight-line code
//! with no loop, so the compiler cannot turn it back into a `memcpy` call.
//! Compiled only with `--cfg wrap_memcpy`, which the Makefile passes with the flag.
//!
//! <https://man7.org/linux/man-pages/man3/memcpy.3.html>
//! <https://sourceware.org/binutils/docs/ld/Options.html> (`--wrap`)
//! <https://www.rfc-editor.org/rfc/rfc1951#section-3.2.3>

use std::mem::size_of;

extern "C" {
    fn __real_memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
}

/// memcpy(3): `n` bytes from `src` to `dst`, returning `dst`.
///
/// # Safety
/// memcpy's own contract: `src` is readable and `dst` writable for `n` bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn __wrap_memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: by memcpy's contract; each move below stays within the first or last
    // bytes of the two ranges, as `ends` says.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                let (first, middle, last) = (*src, *src.add(n / 2), *src.add(n - 1));
                *dst = first;
                *dst.add(n / 2) = middle;
                *dst.add(n - 1) = last;
            }
            4..=7 => ends::<u32>(dst, src, n),
            8..=16 => ends::<u64>(dst, src, n),
            17..=32 => ends::<u128>(dst, src, n),
            33..=64 => ends::<[u128; 2]>(dst, src, n),
            _ => return __real_memcpy(dst, src, n),
        }
    }
    dst
}

/// Copies the first and the last `size_of::<T>()` bytes of `n`, which together cover
/// all of them when `size_of::<T>() <= n <= 2 * size_of::<T>()`.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes, `n >= size_of::<T>()`.
#[inline(always)]
unsafe fn ends<T: Copy>(dst: *mut u8, src: *const u8, n: usize) {
    let tail = n - size_of::<T>();
    // SAFETY: both moves lie within the `n` bytes, as the caller promises.
    unsafe {
        let first = src.cast::<T>().read_unaligned();
        let last = src.add(tail).cast::<T>().read_unaligned();
        dst.cast::<T>().write_unaligned(first);
        dst.add(tail).cast::<T>().write_unaligned(last);
    }
}
