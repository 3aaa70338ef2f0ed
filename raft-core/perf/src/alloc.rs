//! A global allocator that counts allocations (including reallocations) on each thread, so a
//! benchmark can report allocations per entry without valgrind.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting.
pub struct Counting;

fn bump() {
    // `try_with`: the counter may be gone while a thread is being torn down.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local integer and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made so far on this thread.
pub fn count() -> u64 {
    COUNT.with(Cell::get)
}

/// Stops glibc's malloc from handing freed memory back to the kernel whenever the top of the
/// heap is free (its "trim threshold"). Without it, a burst of frees at each log compaction
/// returns the commands' memory and the next allocations fault it back in, page by page: a
/// cost of the allocator's policy and of how a library's frees happen to line up, which would
/// swamp the libraries' own work in the 1 KiB rows. Elsewhere this does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        // SAFETY: mallopt only changes a malloc tunable; it is called before any thread starts.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}
