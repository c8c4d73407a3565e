//! Sorting with one copy of std's sort in the binary.
//!
//! `slice::sort_by` is generic over the element and the comparison, so each call site
//! with a new element type or closure compiles a whole driftsort of its own (merges,
//! small-sort networks, pivots: ~4.5 KB of machine code each). Here std sorts only
//! indices, through one `dyn` comparison, once for the whole program; each caller
//! adds a loop that moves its elements into that order. Stable, O(n log n) comparisons
//! and O(n) moves, as before.
//! <https://doc.rust-lang.org/std/primitive.slice.html#method.sort_by>

use std::cmp::Ordering;

/// `items.sort_by(compare)`: a stable sort, equal elements keep their order.
pub fn sort_by<T>(items: &mut [T], compare: impl Fn(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_indices(&mut order, &|a, b| compare(&items[a], &items[b]));
    // Position j gets the element at order[j]: follow each cycle of the permutation
    // once, marking each place done by pointing it at itself.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start {
            let next = order[at];
            items.swap(at, next);
            order[at] = at;
            at = next;
        }
        order[at] = at;
    }
}

fn sort_indices(order: &mut [usize], compare: &dyn Fn(usize, usize) -> Ordering) {
    order.sort_by(|&a, &b| compare(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_like_std() {
        let mut seed = 7u32;
        for len in 0..200 {
            let items: Vec<(u32, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 28, i)
                })
                .collect();
            let (mut ours, mut std) = (items.clone(), items);
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            std.sort_by_key(|a| a.0);
            assert_eq!(ours, std);
        }
    }
}
