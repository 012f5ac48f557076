//! A global allocator that maps large blocks straight from the kernel.
//!
//! Why: glibc's `malloc` raises its mmap threshold (up to 32 MiB) each time a mapped block is
//! freed, so after one reconciliation the next one's blocks below the raised threshold (the
//! radix sort's buckets, the join's parts, per-thread buffers) come from the heap instead of
//! fresh mappings: memory not known to be zero, cleared by hand, and faulted in again whenever
//! the heap was trimmed. Measured on two files of 10 M rows, the second and third run in one
//! process took 2.7-3.0 s against 2.4 s for the first; with glibc's threshold pinned (`mallopt`)
//! every run took the time of the first, as it does with this allocator. Blocks of at least
//! [`DIRECT_FROM`] bytes are mapped and unmapped directly: zeroed pages come free from the
//! kernel, growth is `mremap`, and a freed block is returned at once. Smaller blocks go to the
//! system allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks from this size on are mapped directly.
pub const DIRECT_FROM: usize = 8 << 20;
const PAGE: usize = 4096;

/// The system allocator, with large blocks mapped directly (see the module documentation).
pub struct DirectLarge;

#[inline]
fn direct(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= DIRECT_FROM && layout.align() <= PAGE
}

#[cfg(target_os = "linux")]
unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping of fresh zero pages, owned by the caller.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), size, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

#[cfg(not(target_os = "linux"))]
unsafe fn map(_size: usize) -> *mut u8 {
    std::ptr::null_mut()
}

// SAFETY: a block is mapped directly exactly when `direct(layout)` holds, and Rust passes the
// same layout (size and alignment) to `dealloc` and `realloc` as to the call that made the block,
// so each block is freed by the allocator that made it. Mappings are page aligned, which covers
// every alignment `direct` accepts.
unsafe impl GlobalAlloc for DirectLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if direct(&layout) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if direct(&layout) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if direct(&layout) {
            #[cfg(target_os = "linux")]
            unsafe {
                libc::munmap(ptr as *mut libc::c_void, layout.size());
            }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (direct(&layout), direct(&new)) {
            #[cfg(target_os = "linux")]
            (true, true) => {
                // SAFETY: `ptr` is a mapping of `layout.size()` bytes made above; the kernel
                // moves it if it cannot grow in place.
                let p = unsafe { libc::mremap(ptr as *mut libc::c_void, layout.size(), new_size, libc::MREMAP_MAYMOVE) };
                if p == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    p as *mut u8
                }
            }
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // Crossing the threshold: a new block of the other kind, the bytes copied over.
                let p = unsafe { self.alloc(new) };
                if !p.is_null() {
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_both_kinds_grow_shrink_and_keep_their_bytes() {
        let a = DirectLarge;
        for (from, to) in [(100, DIRECT_FROM + 5), (DIRECT_FROM + 5, 100), (DIRECT_FROM, 3 * DIRECT_FROM), (3 * DIRECT_FROM, DIRECT_FROM + 1), (64, 128)] {
            unsafe {
                let l = Layout::from_size_align(from, 8).unwrap();
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null());
                assert!((0..from).step_by(4093).all(|i| *p.add(i) == 0));
                for i in (0..from).step_by(4093) {
                    *p.add(i) = (i % 251) as u8;
                }
                let q = a.realloc(p, l, to);
                assert!(!q.is_null());
                for i in (0..from.min(to)).step_by(4093) {
                    assert_eq!(*q.add(i), (i % 251) as u8, "{from} -> {to} at {i}");
                }
                *q.add(to - 1) = 7;
                a.dealloc(q, Layout::from_size_align(to, 8).unwrap());
            }
        }
        // Alignment beyond a page is left to the system allocator.
        assert!(!direct(&Layout::from_size_align(DIRECT_FROM, 2 * PAGE).unwrap()));
    }
}
