//! Raw libgfapi declarations, written by hand from `glusterfs/api/glfs.h` (glusterfs
//! 10.3 on Debian 12) for the calls the safe layer around it makes.
//!
//! Symbol versions: libgfapi exports several ABIs under one name, e.g.
//! `glfs_preadv_async@GFAPI_3.4.0` (old two-argument callback) and
//! `glfs_preadv_async@@GFAPI_6.0` (the current one, with pre/post `glfs_stat`). The
//! header's `GFAPI_PUBLIC` marks only work on Darwin; on Linux a plain reference binds
//! to the default (`@@`) version at link time, which is the 6.0 ABI declared here.
//! build.rs refuses libraries older than that (pkg-config `glusterfs-api` >= 7.6), and
//! `objdump -T` on a test binary shows `GFAPI_6.0` for every `*_async`, `ftruncate`,
//! `fdatasync`, `pwrite` and `fsync` reference.
//!
//! Nothing here is safe to call directly; the rest of this room wraps it, and nothing
//! outside the room can see it.

#![allow(non_camel_case_types)]

use libc::{
    c_char, c_int, c_void, dirent, iovec, mode_t, off_t, size_t, ssize_t, stat, statvfs, timespec,
};

/// A virtual mount of one volume (`glfs_t`).
#[repr(C)]
#[derive(Debug)]
pub struct glfs_t {
    _opaque: [u8; 0],
    _pin: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// An open file on a volume (`glfs_fd_t`).
#[repr(C)]
#[derive(Debug)]
pub struct glfs_fd_t {
    _opaque: [u8; 0],
    _pin: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `struct glfs_stat` (statx-like); only passed through, never read here.
#[repr(C)]
#[derive(Debug)]
pub struct glfs_stat {
    pub glfs_st_mask: u64,
    pub glfs_st_attributes: u64,
    pub glfs_st_attributes_mask: u64,
    pub glfs_st_atime: timespec,
    pub glfs_st_btime: timespec,
    pub glfs_st_ctime: timespec,
    pub glfs_st_mtime: timespec,
    pub glfs_st_ino: libc::ino_t,
    pub glfs_st_size: off_t,
    pub glfs_st_blocks: libc::blkcnt_t,
    pub glfs_st_rdev_major: u32,
    pub glfs_st_rdev_minor: u32,
    pub glfs_st_dev_major: u32,
    pub glfs_st_dev_minor: u32,
    pub glfs_st_blksize: libc::blksize_t,
    pub glfs_st_nlink: libc::nlink_t,
    pub glfs_st_uid: libc::uid_t,
    pub glfs_st_gid: libc::gid_t,
    pub glfs_st_mode: mode_t,
}

/// `glfs_io_cbk` (GFAPI_6.0): `ret` is bytes or -1 with `errno` set on the calling
/// thread; the stat pointers live on gfapi's stack for the duration of the call.
pub type glfs_io_cbk = Option<
    unsafe extern "C" fn(
        fd: *mut glfs_fd_t,
        ret: ssize_t,
        prestat: *mut glfs_stat,
        poststat: *mut glfs_stat,
        data: *mut c_void,
    ),
>;

/// `enum glfs_lock_mode`'s GLFS_LK_MANDATORY (an int-sized C enum; GLFS_LK_ADVISORY is
/// 0, what glfs_posix_lock asks for).
pub const GLFS_LK_MANDATORY: c_int = 1;

#[link(name = "gfapi")]
unsafe extern "C" {
    pub fn glfs_new(volname: *const c_char) -> *mut glfs_t;
    /// A volfile read from `volfile` at `glfs_init` instead of fetched from a server
    /// (such a connection never gets a new graph).
    pub fn glfs_set_volfile(fs: *mut glfs_t, volfile: *const c_char) -> c_int;
    pub fn glfs_set_logging(fs: *mut glfs_t, logfile: *const c_char, loglevel: c_int) -> c_int;
    pub fn glfs_set_xlator_option(
        fs: *mut glfs_t,
        xlator: *const c_char,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// 0 once the graph is up; -1 with errno EIO both when it could not be built and
    /// when no brick answered (its `chdir("/")` after a first CHILD_DOWN fails).
    pub fn glfs_init(fs: *mut glfs_t) -> c_int;
    pub fn glfs_fini(fs: *mut glfs_t) -> c_int;

    pub fn glfs_open(fs: *mut glfs_t, path: *const c_char, flags: c_int) -> *mut glfs_fd_t;
    pub fn glfs_creat(
        fs: *mut glfs_t,
        path: *const c_char,
        flags: c_int,
        mode: mode_t,
    ) -> *mut glfs_fd_t;
    pub fn glfs_close(fd: *mut glfs_fd_t) -> c_int;
    pub fn glfs_fstat(fd: *mut glfs_fd_t, buf: *mut stat) -> c_int;
    pub fn glfs_stat(fs: *mut glfs_t, path: *const c_char, buf: *mut stat) -> c_int;
    pub fn glfs_unlink(fs: *mut glfs_t, path: *const c_char) -> c_int;
    pub fn glfs_ftruncate(
        fd: *mut glfs_fd_t,
        length: off_t,
        prestat: *mut glfs_stat,
        poststat: *mut glfs_stat,
    ) -> c_int;

    pub fn glfs_preadv_async(
        fd: *mut glfs_fd_t,
        iov: *const iovec,
        count: c_int,
        offset: off_t,
        flags: c_int,
        fn_: glfs_io_cbk,
        data: *mut c_void,
    ) -> c_int;
    pub fn glfs_pwritev_async(
        fd: *mut glfs_fd_t,
        iov: *const iovec,
        count: c_int,
        offset: off_t,
        flags: c_int,
        fn_: glfs_io_cbk,
        data: *mut c_void,
    ) -> c_int;
    pub fn glfs_fdatasync_async(fd: *mut glfs_fd_t, fn_: glfs_io_cbk, data: *mut c_void) -> c_int;
    pub fn glfs_discard_async(
        fd: *mut glfs_fd_t,
        offset: off_t,
        len: size_t,
        fn_: glfs_io_cbk,
        data: *mut c_void,
    ) -> c_int;
    pub fn glfs_zerofill_async(
        fd: *mut glfs_fd_t,
        offset: off_t,
        len: off_t,
        fn_: glfs_io_cbk,
        data: *mut c_void,
    ) -> c_int;

    // Synchronous forms, for the control plane and tests, never the data path.
    pub fn glfs_pread(
        fd: *mut glfs_fd_t,
        buf: *mut c_void,
        count: size_t,
        offset: off_t,
        flags: c_int,
        poststat: *mut glfs_stat,
    ) -> ssize_t;
    pub fn glfs_pwrite(
        fd: *mut glfs_fd_t,
        buf: *const c_void,
        count: size_t,
        offset: off_t,
        flags: c_int,
        prestat: *mut glfs_stat,
        poststat: *mut glfs_stat,
    ) -> ssize_t;
    pub fn glfs_fsync(
        fd: *mut glfs_fd_t,
        prestat: *mut glfs_stat,
        poststat: *mut glfs_stat,
    ) -> c_int;
    /// `keep_size` non-zero: allocate without changing the size (FALLOC_FL_KEEP_SIZE).
    pub fn glfs_fallocate(
        fd: *mut glfs_fd_t,
        keep_size: c_int,
        offset: off_t,
        len: size_t,
    ) -> c_int;
    pub fn glfs_fchmod(fd: *mut glfs_fd_t, mode: mode_t) -> c_int;

    // Locks (fcntl(2) semantics for `cmd` and `flock`). The owner is the connection
    // (the brick's client) with gfapi's lock owner, empty unless glfs_fd_set_lkowner
    // set one: every fd of one connection is the same owner.
    pub fn glfs_posix_lock(fd: *mut glfs_fd_t, cmd: c_int, flock: *mut libc::flock) -> c_int;
    /// `lk_mode` 0 (advisory) or [`GLFS_LK_MANDATORY`].
    pub fn glfs_file_lock(
        fd: *mut glfs_fd_t,
        cmd: c_int,
        flock: *mut libc::flock,
        lk_mode: c_int,
    ) -> c_int;
    pub fn glfs_fsetxattr(
        fd: *mut glfs_fd_t,
        name: *const c_char,
        value: *const c_void,
        size: size_t,
        flags: c_int,
    ) -> c_int;

    // Paths.
    pub fn glfs_mkdir(fs: *mut glfs_t, path: *const c_char, mode: mode_t) -> c_int;
    pub fn glfs_rmdir(fs: *mut glfs_t, path: *const c_char) -> c_int;
    pub fn glfs_link(fs: *mut glfs_t, oldpath: *const c_char, newpath: *const c_char) -> c_int;
    pub fn glfs_rename(fs: *mut glfs_t, oldpath: *const c_char, newpath: *const c_char) -> c_int;
    pub fn glfs_chmod(fs: *mut glfs_t, path: *const c_char, mode: mode_t) -> c_int;
    pub fn glfs_truncate(fs: *mut glfs_t, path: *const c_char, length: off_t) -> c_int;
    pub fn glfs_statvfs(fs: *mut glfs_t, path: *const c_char, buf: *mut statvfs) -> c_int;

    // Directories: an fd from glfs_opendir is read with glfs_readdir_r (into the
    // caller's dirent; `*result` NULL at the end) and closed with glfs_closedir.
    pub fn glfs_opendir(fs: *mut glfs_t, path: *const c_char) -> *mut glfs_fd_t;
    pub fn glfs_readdir_r(
        fd: *mut glfs_fd_t,
        dirent: *mut dirent,
        result: *mut *mut dirent,
    ) -> c_int;
    pub fn glfs_closedir(fd: *mut glfs_fd_t) -> c_int;
}

#[cfg(test)]
mod tests {
    #[test]
    fn glfs_stat_matches_the_c_layout() {
        // 3 u64 + 4 timespec + ino + size + blocks + 4 u32 + blksize + nlink + uid, gid, mode.
        assert_eq!(std::mem::size_of::<super::glfs_stat>(), 160);
    }
}
