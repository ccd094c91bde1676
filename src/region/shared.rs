//! The one type that owns memory shared with the kernel.
//!
//! [`SharedRegion`] maps the UIO device (or, in tests, a memfd) once and then offers only
//! bounds-checked access at byte offsets: atomic loads and stores with an explicit
//! [`Ordering`] for the mailbox indices, and copies in and out for everything else. No
//! reference into the shared memory ever leaves this module, because the kernel may
//! write it at any time. The same type over a heap buffer ([`SharedRegion::heap`]) is
//! the private buffer of a multi-step command, which its backstore requests name like
//! the ring's data area. Zero-copy I/O gets raw pointers from
//! [`SharedRegion::segment_ptr`]; handing those to the kernel or libgfapi is the `unsafe`
//! of `crate::uring` and `crate::glfs`, justified by the command that owns the range.

#![allow(unsafe_code)]

use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// An access outside the region, or one that breaks alignment for an atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("range {off:#x}+{len:#x} lies outside the {size:#x}-byte shared region")]
    OutOfBounds { off: u64, len: u64, size: usize },
    #[error("offset {off:#x} is not aligned for a 4-byte atomic access")]
    Misaligned { off: usize },
}

/// Failure to map a region.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("mapping of zero bytes requested")]
    Empty,
    #[error("mmap of {len} bytes failed")]
    Mmap {
        len: usize,
        #[source]
        source: std::io::Error,
    },
}

/// What releases the memory on drop.
#[derive(Debug)]
enum Backing {
    /// `mmap`ed from a file descriptor; unmapped on drop.
    Mapped,
    /// A private heap allocation (a command's own buffer, tests, miri); freed with this
    /// layout on drop.
    Heap(std::alloc::Layout),
}

/// Memory shared with the kernel: mailbox, command ring and data area.
#[derive(Debug)]
pub struct SharedRegion {
    ptr: NonNull<u8>,
    len: usize,
    backing: Backing,
}

// SAFETY: the region is plain memory; all access goes through methods that either use
// atomics or copy bytes, so sharing the handle across threads is as safe as sharing the
// memory with the kernel already is. Concurrent writers to one byte range are excluded by
// the ring protocol (each range belongs to one pending command).
unsafe impl Send for SharedRegion {}
// SAFETY: see the `Send` impl; `&SharedRegion` exposes no references into the memory.
unsafe impl Sync for SharedRegion {}

impl SharedRegion {
    /// Maps `len` bytes of `fd` shared and read-write at offset 0 (what UIO requires).
    pub fn map(fd: impl AsFd, len: usize) -> Result<Self, MapError> {
        if len == 0 {
            return Err(MapError::Empty);
        }
        use rustix::mm::{MapFlags, ProtFlags, mmap};
        // SAFETY: a fresh mapping at an address the kernel chooses cannot alias any Rust
        // object; the length is what the caller read from sysfs (UIO refuses any other).
        let raw = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .map_err(|e| MapError::Mmap {
            len,
            source: e.into(),
        })?;
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or(MapError::Mmap {
            len,
            source: std::io::Error::other("mmap returned null"),
        })?;
        Ok(Self {
            ptr,
            len,
            backing: Backing::Mapped,
        })
    }

    /// A zeroed private region on the heap: the buffer a multi-step command (COMPARE AND
    /// WRITE, VERIFY, WRITE SAME of a pattern, EXTENDED COPY) reads into and writes from
    /// through its backstore, and a region for tests that need no second mapping.
    pub fn heap(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 4096)
            .unwrap_or_else(|_| std::alloc::Layout::new::<u64>());
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        Self {
            ptr,
            len: len.min(layout.size()),
            backing: Backing::Heap(layout),
        }
    }

    /// Size of the region in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length region (never produced by the constructors).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that `off..off+len` lies inside the region and returns `off` as usize.
    pub fn check(&self, off: u64, len: u64) -> Result<usize, RegionError> {
        let oob = RegionError::OutOfBounds {
            off,
            len,
            size: self.len,
        };
        let end = off.checked_add(len).ok_or(oob)?;
        if end > self.len as u64 {
            return Err(oob);
        }
        usize::try_from(off).map_err(|_| oob)
    }

    fn atomic_u32(&self, off: usize) -> Result<&AtomicU32, RegionError> {
        self.check(off as u64, 4)?;
        if off % 4 != 0 {
            return Err(RegionError::Misaligned { off });
        }
        // SAFETY: in bounds and 4-aligned (the base is page- or 8-aligned); AtomicU32 has
        // the layout of u32 and atomics are the sanctioned way to share a word with
        // another writer. The reference lives only as long as `&self`.
        Ok(unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(off).cast::<u32>()) })
    }

    /// Atomically loads the u32 at `off` (mailbox indices).
    pub fn load_u32(&self, off: usize, order: Ordering) -> Result<u32, RegionError> {
        Ok(self.atomic_u32(off)?.load(order))
    }

    /// Atomically stores `val` at `off` (mailbox indices).
    pub fn store_u32(&self, off: usize, val: u32, order: Ordering) -> Result<(), RegionError> {
        self.atomic_u32(off)?.store(val, order);
        Ok(())
    }

    /// Copies `dst.len()` bytes out of the region starting at `off`.
    pub fn read_bytes(&self, off: u64, dst: &mut [u8]) -> Result<(), RegionError> {
        let off = self.check(off, dst.len() as u64)?;
        // SAFETY: the source range is inside the mapping (checked above) and `dst` is a
        // distinct Rust buffer, so the ranges cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len())
        };
        Ok(())
    }

    /// Copies `src` into the region starting at `off`.
    pub fn write_bytes(&self, off: u64, src: &[u8]) -> Result<(), RegionError> {
        let off = self.check(off, src.len() as u64)?;
        // SAFETY: the destination range is inside the mapping (checked above) and `src`
        // is a distinct Rust buffer; writes through the shared pointer are how the
        // protocol hands bytes to the kernel.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        };
        Ok(())
    }

    /// Sets `len` bytes at `off` to `byte`.
    pub fn fill(&self, off: u64, len: u64, byte: u8) -> Result<(), RegionError> {
        let start = self.check(off, len)?;
        // SAFETY: the range is inside the mapping (checked above); `len` fits in usize
        // because it is bounded by the region's length.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(start), byte, len as usize) };
        Ok(())
    }

    /// Reads a native-endian u8 at `off`.
    pub fn read_u8(&self, off: u64) -> Result<u8, RegionError> {
        let mut b = [0u8; 1];
        self.read_bytes(off, &mut b)?;
        Ok(b[0])
    }

    /// Reads a native-endian u16 at `off`.
    pub fn read_u16(&self, off: u64) -> Result<u16, RegionError> {
        let mut b = [0u8; 2];
        self.read_bytes(off, &mut b)?;
        Ok(u16::from_ne_bytes(b))
    }

    /// Reads a native-endian u32 at `off` (not atomic: entry fields, not indices).
    pub fn read_u32(&self, off: u64) -> Result<u32, RegionError> {
        let mut b = [0u8; 4];
        self.read_bytes(off, &mut b)?;
        Ok(u32::from_ne_bytes(b))
    }

    /// Reads a native-endian u64 at `off`.
    pub fn read_u64(&self, off: u64) -> Result<u64, RegionError> {
        let mut b = [0u8; 8];
        self.read_bytes(off, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    /// Writes a native-endian u8 at `off`.
    pub fn write_u8(&self, off: u64, v: u8) -> Result<(), RegionError> {
        self.write_bytes(off, &[v])
    }

    /// Writes a native-endian u16 at `off`.
    pub fn write_u16(&self, off: u64, v: u16) -> Result<(), RegionError> {
        self.write_bytes(off, &v.to_ne_bytes())
    }

    /// Writes a native-endian u32 at `off` (not atomic).
    pub fn write_u32(&self, off: u64, v: u32) -> Result<(), RegionError> {
        self.write_bytes(off, &v.to_ne_bytes())
    }

    /// Writes a native-endian u64 at `off`.
    pub fn write_u64(&self, off: u64, v: u64) -> Result<(), RegionError> {
        self.write_bytes(off, &v.to_ne_bytes())
    }

    /// A raw pointer to `len` bytes at `off`, for zero-copy I/O submitted to the kernel
    /// (io_uring) or to libgfapi. Getting it is safe; using it is the caller's `unsafe`,
    /// valid while the region lives and the owning command is pending.
    pub fn segment_ptr(&self, off: u64, len: u64) -> Result<NonNull<u8>, RegionError> {
        let start = self.check(off, len)?;
        // SAFETY: `start` is inside the mapping, so the offset pointer stays in bounds
        // (or one past the end for an empty range) and is non-null.
        Ok(unsafe { NonNull::new_unchecked(self.ptr.as_ptr().add(start)) })
    }
}

impl Drop for SharedRegion {
    fn drop(&mut self) {
        match self.backing {
            Backing::Mapped => {
                // SAFETY: ptr/len are exactly what mmap returned; nothing borrows the
                // memory any more because every accessor borrows `self`.
                let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
            }
            // SAFETY: ptr came from `alloc_zeroed` with exactly this layout.
            Backing::Heap(layout) => unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written() {
        let r = SharedRegion::heap(4096);
        r.write_u32(100, 0xdead_beef).unwrap();
        assert_eq!(r.read_u32(100).unwrap(), 0xdead_beef);
        r.store_u32(64, 7, Ordering::Release).unwrap();
        assert_eq!(r.load_u32(64, Ordering::Acquire).unwrap(), 7);
    }

    #[test]
    fn refuses_out_of_bounds_and_overflow() {
        let r = SharedRegion::heap(4096);
        assert!(r.read_u32(4093).is_err());
        assert!(r.write_bytes(u64::MAX - 1, &[1, 2, 3]).is_err());
        assert!(r.segment_ptr(4096, 1).is_err());
        assert!(r.segment_ptr(4096, 0).is_ok());
        assert!(matches!(
            r.load_u32(2, Ordering::Relaxed),
            Err(RegionError::Misaligned { .. })
        ));
    }

    #[test]
    fn fill_touches_only_its_range() {
        let r = SharedRegion::heap(64);
        r.fill(8, 8, 0xaa).unwrap();
        assert_eq!(r.read_u64(8).unwrap(), u64::from_ne_bytes([0xaa; 8]));
        assert_eq!(r.read_u64(16).unwrap(), 0);
        assert!(r.fill(60, 8, 0).is_err());
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd_create and mmap are syscalls miri does not run")]
    fn maps_a_memfd_shared() {
        let fd = rustix::fs::memfd_create("region-test", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&fd, 8192).unwrap();
        let a = SharedRegion::map(&fd, 8192).unwrap();
        let b = SharedRegion::map(&fd, 8192).unwrap();
        a.write_u64(4096, 42).unwrap();
        assert_eq!(b.read_u64(4096).unwrap(), 42);
    }
}
