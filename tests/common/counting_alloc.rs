//! A global allocator that counts, per thread, the largest single allocation and the most bytes
//! live at once, for tests that bound what reading a hostile or damaged file may allocate. A test
//! binary that includes this module (`#[path = "common/counting_alloc.rs"] mod counting_alloc;`)
//! gets it as its global allocator. Memory that zstd's or zfp's C code takes with `malloc` is not
//! seen; every buffer sized from file contents is a Rust `Vec`.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct PeakCounting;

thread_local! {
    /// Largest single allocation (or reallocation target) on this thread since the last reset.
    static PEAK: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed on this thread, and the most of them since the last reset.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static LIVE_PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Allocations above this are refused outright, so a regression aborts the test binary with
/// "memory allocation of N bytes failed" instead of exhausting the machine.
const REFUSE_ABOVE: usize = 8 << 30;

fn note(size: usize) {
    let _ = PEAK.try_with(|peak| {
        if size > peak.get() {
            peak.set(size);
        }
    });
    live_change(size as isize);
}

fn live_change(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = LIVE_PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: forwards every call to `System` unchanged; only records sizes in a const-initialised
// thread-local `Cell` (no allocation, no destructor).
unsafe impl GlobalAlloc for PeakCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        if layout.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        if layout.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live_change(-(layout.size() as isize));
        note(new_size);
        if new_size > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live_change(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakCounting = PeakCounting;

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    PEAK.with(|peak| peak.set(0));
    let out = f();
    (out, PEAK.with(Cell::get))
}

/// Runs `f` and returns its result with the most bytes live at once on this thread while it ran,
/// counted from its start.
pub fn measured_live<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    LIVE_PEAK.with(|peak| peak.set(start));
    let out = f();
    (out, (LIVE_PEAK.with(Cell::get) - start).max(0) as usize)
}
