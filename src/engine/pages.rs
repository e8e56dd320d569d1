//! Memory hints for large tables read at random: huge pages, and prefetching.
//!
//! A replication reads its party and booking records and a policy's position table at
//! random, by party or booking id. With 4 KiB pages a table of tens of megabytes (the
//! 16-times-larger embassy) spans thousands of pages, more than the processor's address
//! translation cache holds, so nearly every such read also walks the page table; and
//! first touching each page costs a fault. Linux's transparent huge pages map 2 MiB at a
//! time, but on most systems (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`)
//! only for memory that asked for them. [`huge_vec`] and [`reuse`] hand out buffers that
//! asked, for their whole capacity. It is a hint: contents and results never depend on it,
//! and where the system has no huge pages (or is not Linux) it does nothing.
//!
//! [`prefetch`] asks the processor to start loading one record a step will read soon, so
//! that the wait for memory overlaps work already under way; also only a hint.

/// The size of a huge page on x86-64 and aarch64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// An empty buffer with room for `capacity` records, on huge pages where the system has
/// them.
pub fn huge_vec<T>(capacity: usize) -> Vec<T> {
    let buffer = Vec::with_capacity(capacity);
    advise_huge_pages(&buffer);
    buffer
}

/// `buffer`, emptied, with room for `capacity` records: kept if it has the room, else a
/// new [`huge_vec`]. (Reserving on a short buffer would copy its whole old capacity into
/// the new one, making resident the pages of records no run ever wrote.)
pub fn reuse<T>(mut buffer: Vec<T>, capacity: usize) -> Vec<T> {
    buffer.clear();
    if buffer.capacity() < capacity {
        drop(buffer);
        return huge_vec(capacity);
    }
    buffer
}

/// Asks for huge pages under the capacity of `buffer` (only the whole 2 MiB-aligned
/// stretches inside it; a buffer smaller than two huge pages is left alone). Asked before
/// the buffer is written: pages already touched stay small.
fn advise_huge_pages<T>(buffer: &Vec<T>) {
    let bytes = buffer.capacity().saturating_mul(size_of::<T>());
    if let Some((at, len)) = huge_stretch(buffer.as_ptr() as usize, bytes) {
        advise(at, len);
    }
}

/// The whole huge pages inside `[start, start + bytes)`, as (address, length), if the
/// range is at least two huge pages long and holds one.
fn huge_stretch(start: usize, bytes: usize) -> Option<(usize, usize)> {
    if bytes < 2 * HUGE_PAGE {
        return None;
    }
    let (lo, hi) = (start.next_multiple_of(HUGE_PAGE), (start + bytes) / HUGE_PAGE * HUGE_PAGE);
    (hi > lo).then(|| (lo, hi - lo))
}

#[cfg(target_os = "linux")]
fn advise(at: usize, len: usize) {
    // SAFETY: `[at, at + len)` lies inside one live allocation (the buffer's capacity), and
    // MADV_HUGEPAGE only changes how the kernel backs those pages, never their contents or
    // who may access them. The result is ignored: refusal (no huge pages configured) leaves
    // the memory as it was.
    unsafe {
        libc::madvise(at as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_at: usize, _len: usize) {}

/// Asks the processor to start loading `table[index]` into the cache, so that reading it
/// a little later does not wait for memory. A hint: nothing is read, and an index past the
/// end is harmless (a prefetch never faults).
#[inline(always)]
pub fn prefetch<T>(table: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // `wrapping_add`: the address is only computed, never dereferenced.
        let at = table.as_ptr().wrapping_add(index);
        // SAFETY: SSE, which the instruction needs, is part of every x86-64 processor, and
        // a prefetch never faults or changes memory, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (table, index);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_huge_pages_inside_the_buffer_are_advised() {
        const H: usize = HUGE_PAGE;
        assert_eq!(huge_stretch(H, 2 * H), Some((H, 2 * H)), "aligned: all of it");
        assert_eq!(huge_stretch(H + 4096, 2 * H), Some((2 * H, H)), "the one whole page inside");
        assert_eq!(huge_stretch(H + 4096, 3 * H), Some((2 * H, 2 * H)));
        assert_eq!(huge_stretch(H + 4096, 2 * H - 8192), None, "under two huge pages");
        assert_eq!(huge_stretch(0, H), None);
    }

    #[test]
    fn advice_leaves_contents_alone() {
        let mut v: Vec<u64> = Vec::with_capacity(3 * HUGE_PAGE / 8);
        v.extend(0..1000);
        advise_huge_pages(&v);
        v.extend(1000..(3 * HUGE_PAGE / 8) as u64);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
    }

    /// A prefetch reads nothing: any index, past the end or of an empty table, is fine.
    #[test]
    fn prefetch_takes_any_index() {
        let table = vec![7u64; 100];
        for i in [0, 99, 100, 1 << 40, usize::MAX] {
            prefetch(&table, i);
        }
        prefetch::<u8>(&[], 3);
        assert!(table.iter().all(|&x| x == 7));
    }

    #[test]
    fn reuse_keeps_a_buffer_with_room_and_replaces_a_short_one() {
        let mut kept = huge_vec::<u32>(100);
        kept.extend(0..50);
        let at = kept.as_ptr();
        let kept = reuse(kept, 80);
        assert!(kept.is_empty() && kept.as_ptr() == at && kept.capacity() >= 100);
        let grown = reuse(vec![1u32; 10], 1000);
        assert!(grown.is_empty() && grown.capacity() >= 1000);
    }
}
