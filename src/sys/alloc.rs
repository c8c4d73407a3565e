//! Freed blocks kept for the next request of their size, rather than handed back to
//! the kernel: small ones (16 B to 4 KiB) and those of 16 to 128 KiB.
//!
//! musl's allocator (mallocng) serves each size from groups of blocks, each group a
//! mapping of its own for all but the smallest, and unmaps a group as soon as its last
//! block is freed. Two patterns paid for that again and again:
//!
//! - Inflating a layer builds two Huffman tables for every DEFLATE block (RFC 1951,
//!   3.2.7), one block per 16-64 KB of output or so: libflate allocates each table
//!   afresh, 2 bytes per entry and 2^(longest code) entries, up to 64 KiB, and frees it
//!   when the block ends. Every table cost an mmap(2), a munmap(2), a page fault for
//!   each 4 KiB it touched, and started cold in the cache: 2,672 mappings for
//!   `bench/debian:large` (702 of 68 KiB, 627 of 36 KiB).
//! - A start makes and drops paths, strings and buffers a few at a time: each size's
//!   group was mapped, emptied and unmapped over and over, ~70 mmap(2) and munmap(2)
//!   pairs across skiff's processes for one `run --rm busybox true`, a fifth of all
//!   their system calls, with a page fault each.
//!
//! This allocator sits in front of musl's (std's `System`). A request of up to 4 KiB,
//! or of 16 to 128 KiB, aligned to 16 at most, is rounded up to a power of two (16 B
//! at least), and a freed block of one of those sizes is kept, on its size's list, for
//! the next request of its size: up to 32 of each small size, 2 of each large one. A
//! kept block is one musl still counts as in use, so its group stays mapped too. At
//! most 736 KiB of blocks stay kept (256 of them small), whatever a process allocated
//! before: a supervisor forked after a pull of 50,000 files keeps no more than one that
//! pulled nothing. The price is the rounding: a live block of 2,049 bytes takes 4,096,
//! where musl's own sizes are finer. Everything else goes straight to musl.
//! <https://man7.org/linux/man-pages/man3/malloc.3.html>
//! <https://doc.rust-lang.org/std/alloc/trait.GlobalAlloc.html>

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The kept sizes: powers of two from 16 B (`SMALLEST << 0`) to 128 KiB (`<< 13`).
const SMALLEST: usize = 16;
const SIZES: usize = 14;
/// How many freed blocks of each size are kept: the small sizes' 32, none of 8 KiB
/// (requests past 4 KiB and short of 16 KiB pass through, unrounded), 2 of each large
/// size.
const KEPT_PER_SIZE: [usize; SIZES] = [32, 32, 32, 32, 32, 32, 32, 32, 32, 0, 2, 2, 2, 2];
/// What musl's malloc aligns every block to on x86-64 (and std's `System` relies on).
const ALIGN: usize = 16;

/// std's `System`, with the blocks above kept.
pub struct KeepingAllocator;

/// The kept blocks: a list for each size, a freed block holding the address of the
/// next, with their lengths. One flag guards them all. skiff runs one thread, but a
/// global allocator must be safe to share (the unit tests run on several), and no
/// signal handler may allocate: one that did while the flag is held would wait for
/// ever (skiff's only handler, `sys::forward_signal`, does not).
struct Kept {
    busy: AtomicBool,
    lists: UnsafeCell<Lists>,
}

struct Lists {
    first: [*mut u8; SIZES],
    length: [usize; SIZES],
}

// SAFETY: `lists` is only reached through `with`, which holds `busy` meanwhile.
unsafe impl Sync for Kept {}

static KEPT: Kept = Kept::new();

/// Which kept size serves `layout`, if any.
fn size_class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(SMALLEST);
    if size > SMALLEST << (SIZES - 1) || layout.align() > ALIGN {
        return None;
    }
    let class = (size.next_power_of_two().trailing_zeros() - SMALLEST.trailing_zeros()) as usize;
    let passes_through = size > SMALLEST << 8 && size < SMALLEST << 10;
    (KEPT_PER_SIZE[class] > 0 && !passes_through).then_some(class)
}

/// The layout every block of `class` is allocated with.
fn class_layout(class: usize) -> Layout {
    // SAFETY: a power of two no smaller than the alignment, itself a power of two.
    unsafe { Layout::from_size_align_unchecked(SMALLEST << class, ALIGN) }
}

impl Kept {
    const fn new() -> Kept {
        Kept {
            busy: AtomicBool::new(false),
            lists: UnsafeCell::new(Lists {
                first: [ptr::null_mut(); SIZES],
                length: [0; SIZES],
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Lists) -> T) -> T {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: `busy` is held until the store below: nobody else reaches `lists`.
        let result = f(unsafe { &mut *self.lists.get() });
        self.busy.store(false, Ordering::Release);
        result
    }

    /// The block of `class` freed last, if one is kept.
    fn take(&self, class: usize) -> Option<*mut u8> {
        self.with(|lists| {
            let block = lists.first[class];
            if block.is_null() {
                return None;
            }
            // SAFETY: a kept block holds the next one's address (`keep`).
            lists.first[class] = unsafe { block.cast::<*mut u8>().read() };
            lists.length[class] -= 1;
            Some(block)
        })
    }

    /// Keeps `block`, of `class` and no longer used, unless its list is full.
    fn keep(&self, block: *mut u8, class: usize) -> bool {
        self.with(|lists| {
            if lists.length[class] == KEPT_PER_SIZE[class] {
                return false;
            }
            // SAFETY: at least 16 bytes, aligned to 16, and nobody else's any more.
            unsafe { block.cast::<*mut u8>().write(lists.first[class]) };
            lists.first[class] = block;
            lists.length[class] += 1;
            true
        })
    }
}

// SAFETY: every block comes from `System` with its class's layout (or the caller's, for
// layouts with no class) and goes back to it with the same; a kept block is handed out
// once, as `take` unlinks it under the flag.
unsafe impl GlobalAlloc for KeepingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = size_class(layout) else {
            // SAFETY: the caller's layout, as `alloc` requires.
            return unsafe { System.alloc(layout) };
        };
        match KEPT.take(class) {
            Some(kept) => kept,
            // SAFETY: a layout of non-zero size.
            None => unsafe { System.alloc(class_layout(class)) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = size_class(layout) else {
            // SAFETY: allocated by `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(block, layout) };
        };
        if !KEPT.keep(block, class) {
            // SAFETY: allocated by `System` with its class's layout (see `alloc`).
            unsafe { System.dealloc(block, class_layout(class)) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if size_class(layout).is_none() {
            // SAFETY: the caller's layout; calloc may hand out pages already zero.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: the caller's layout; the block holds at least `layout.size()` bytes.
        unsafe {
            let block = self.alloc(layout);
            if !block.is_null() {
                block.write_bytes(0, layout.size()); // a kept block is not zero
            }
            block
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `realloc`'s contract makes the new size valid for the old alignment.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (size_class(layout), size_class(new)) {
            // SAFETY: allocated by `System` with this layout; musl may grow it in place.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            (Some(old), Some(new)) if old == new => block, // it fits already
            _ => {
                // SAFETY: a new block for `new`, then the old one's bytes that fit,
                // then the old one freed as it was allocated.
                unsafe {
                    let moved = self.alloc(new);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn sizes_round_up_to_a_power_of_two_but_those_from_4_to_16_kib() {
        assert_eq!(size_class(layout(0)), Some(0));
        assert_eq!(size_class(layout(1)), Some(0));
        assert_eq!(size_class(layout(17)), Some(1));
        assert_eq!(size_class(layout(4096)), Some(8));
        assert_eq!(size_class(layout(4097)), None);
        assert_eq!(size_class(layout(8192)), None);
        assert_eq!(size_class(layout(16 * 1024 - 1)), None);
        assert_eq!(size_class(layout(16 * 1024)), Some(10));
        assert_eq!(size_class(layout(16 * 1024 + 1)), Some(11));
        assert_eq!(size_class(layout(128 * 1024)), Some(13));
        assert_eq!(size_class(layout(128 * 1024 + 1)), None);
        let page_aligned = Layout::from_size_align(64 * 1024, 4096).unwrap();
        assert_eq!(size_class(page_aligned), None);
    }

    #[test]
    fn a_kept_block_is_the_next_of_its_size_and_only_of_its_size_up_to_the_limit() {
        let kept = Kept::new();
        // SAFETY: blocks of a non-zero layout, each freed once below (or kept, then taken).
        let blocks: Vec<*mut u8> = (0..40)
            .map(|_| unsafe { System.alloc(class_layout(3)) })
            .collect();
        assert!(blocks.iter().all(|b| !b.is_null()));
        let taken: Vec<bool> = blocks.iter().map(|&b| kept.keep(b, 3)).collect();
        assert_eq!(taken.iter().filter(|&&t| t).count(), 32, "a list holds 32");
        assert_eq!(kept.take(2), None, "128 bytes went to a request for 64");
        assert_eq!(kept.take(3), Some(blocks[31]), "the last kept first");
        assert!(kept.keep(blocks[32], 3));
        let unkept = blocks.iter().zip(taken).skip(33);
        assert!(unkept.clone().all(|(_, taken)| !taken));
        let kept_ones = std::iter::from_fn(|| kept.take(3));
        let owned = unkept.map(|(&b, _)| b).chain(kept_ones).chain([blocks[31]]);
        for block in owned {
            // SAFETY: allocated above with this layout, and no longer used.
            unsafe { System.dealloc(block, class_layout(3)) };
        }
    }

    #[test]
    fn a_vec_keeps_its_bytes_across_the_kept_sizes() {
        let mut bytes: Vec<u8> = Vec::new();
        for n in 0..300_000u32 {
            bytes.push(n as u8); // grows through every kept size and past them
        }
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
        bytes.truncate(20_000);
        bytes.shrink_to_fit(); // from no kept size into one
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
        let zeroed = vec![0u8; 40_000];
        assert!(zeroed.iter().all(|&b| b == 0));
        // SAFETY: a block written and freed (kept, unless another test's thread takes it
        // first), then one of its size asked for zeroed: neither kind is zero by itself.
        unsafe {
            let dirty = KeepingAllocator.alloc(layout(100));
            dirty.write_bytes(0xff, 100);
            KeepingAllocator.dealloc(dirty, layout(100));
            let zeroed = KeepingAllocator.alloc_zeroed(layout(100));
            assert!(std::slice::from_raw_parts(zeroed, 100)
                .iter()
                .all(|&b| b == 0));
            KeepingAllocator.dealloc(zeroed, layout(100));
        }
    }
}
