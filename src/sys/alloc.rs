//! Blocks of 16 to 128 KiB kept for reuse rather than handed back to the kernel.
//!
//! Inflating a layer builds two Huffman tables for every DEFLATE block (RFC 1951,
//! 3.2.7), one block per 16-64 KB of output or so: libflate allocates each table
//! afresh, 2 bytes per entry and 2^(longest code) entries, up to 64 KiB, and frees it
//! when the block ends. musl's allocator (mallocng) serves such a request from a
//! mapping of its own and unmaps it once free, so every table cost an mmap(2), a
//! munmap(2), a page fault for each 4 KiB it touched, and started cold in the cache:
//! 2,672 mappings for `bench/debian:large` (702 of 68 KiB, 627 of 36 KiB).
//!
//! This allocator sits in front of musl's (std's `System`): a request of 16 to 128 KiB
//! is rounded up to a power of two, and a freed block of one of those four sizes is
//! kept, two per size, for the next request of its size. Everything else goes straight
//! to musl. At most 480 KiB stay kept.
//! <https://man7.org/linux/man-pages/man3/malloc.3.html>
//! <https://doc.rust-lang.org/std/alloc/trait.GlobalAlloc.html>

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

const SMALLEST: usize = 16 * 1024;
const SIZES: usize = 4; // 16, 32, 64 and 128 KiB
const KEPT_PER_SIZE: usize = 2;
/// What musl's malloc aligns every block to on x86-64 (and std's `System` relies on).
const ALIGN: usize = 16;

/// std's `System`, with the blocks above kept.
pub struct KeepingAllocator;

static KEPT: [[AtomicPtr<u8>; KEPT_PER_SIZE]; SIZES] =
    [const { [const { AtomicPtr::new(ptr::null_mut()) }; KEPT_PER_SIZE] }; SIZES];

/// Which of the kept sizes serves `layout`, if any.
fn size_class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if !(SMALLEST..=SMALLEST << (SIZES - 1)).contains(&size) || layout.align() > ALIGN {
        return None;
    }
    let class = size.next_power_of_two().trailing_zeros() - SMALLEST.trailing_zeros();
    Some(class as usize)
}

/// The layout every block of `class` is allocated with.
fn class_layout(class: usize) -> Layout {
    // SAFETY: a power of two no smaller than the alignment, itself a power of two.
    unsafe { Layout::from_size_align_unchecked(SMALLEST << class, ALIGN) }
}

// SAFETY: every block comes from `System` with its class's layout (or the caller's, for
// sizes with no class) and goes back to it with the same; a kept block is handed out
// once, as the swap takes it out of its slot.
unsafe impl GlobalAlloc for KeepingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = size_class(layout) else {
            // SAFETY: the caller's layout, as `alloc` requires.
            return unsafe { System.alloc(layout) };
        };
        for slot in &KEPT[class] {
            let kept = slot.swap(ptr::null_mut(), Ordering::Acquire);
            if !kept.is_null() {
                return kept;
            }
        }
        // SAFETY: a layout of non-zero size.
        unsafe { System.alloc(class_layout(class)) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = size_class(layout) else {
            // SAFETY: allocated by `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(block, layout) };
        };
        for slot in &KEPT[class] {
            let empty = ptr::null_mut();
            if slot
                .compare_exchange(empty, block, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: allocated by `System` with its class's layout (see `alloc`).
        unsafe { System.dealloc(block, class_layout(class)) }
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
                block.write_bytes(0, layout.size());
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
    fn sizes_from_16_to_128_kib_round_up_to_a_power_of_two() {
        assert_eq!(size_class(layout(16 * 1024 - 1)), None);
        assert_eq!(size_class(layout(16 * 1024)), Some(0));
        assert_eq!(size_class(layout(16 * 1024 + 1)), Some(1));
        assert_eq!(size_class(layout(64 * 1024)), Some(2));
        assert_eq!(size_class(layout(128 * 1024)), Some(3));
        assert_eq!(size_class(layout(128 * 1024 + 1)), None);
        let page_aligned = Layout::from_size_align(64 * 1024, 4096).unwrap();
        assert_eq!(size_class(page_aligned), None);
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
    }
}
