//! Listing a directory of a volume (control plane only: it blocks on the servers).

use super::error::{GfapiError, cstring, last_errno};
use super::sys;
use super::volume::Volume;
use std::ptr::NonNull;

/// A directory stream (`glfs_opendir`), closed with `glfs_closedir` when dropped; it
/// borrows its volume, so it cannot outlive the connection.
struct Dir<'vol> {
    fd: NonNull<sys::glfs_fd_t>,
    _volume: &'vol Volume,
}

impl<'vol> Dir<'vol> {
    fn open(volume: &'vol Volume, path: &str) -> Result<Dir<'vol>, GfapiError> {
        let c_path = cstring("path", path)?;
        // SAFETY: the volume is connected; c_path outlives the call.
        let fd = unsafe { sys::glfs_opendir(volume.raw(), c_path.as_ptr()) };
        let fd = NonNull::new(fd).ok_or_else(|| volume.path_error("list", path, last_errno()))?;
        Ok(Dir {
            fd,
            _volume: volume,
        })
    }

    /// The next entry's name, `None` at the end; the errno on failure.
    fn next_name(&mut self) -> Result<Option<String>, i32> {
        // SAFETY: dirent is plain old data; all-zero is a valid value.
        let mut entry: libc::dirent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::dirent = std::ptr::null_mut();
        // SAFETY: the stream is open; entry and result are valid out-pointers for the
        // call, which fills entry and points result at it (NULL at the end).
        if unsafe { sys::glfs_readdir_r(self.fd.as_ptr(), &mut entry, &mut result) } != 0 {
            return Err(last_errno());
        }
        if result.is_null() {
            return Ok(None);
        }
        let name: Vec<u8> = entry
            .d_name
            .iter()
            .map(|&c| c as u8)
            .take_while(|&b| b != 0)
            .collect();
        Ok(Some(String::from_utf8_lossy(&name).into_owned()))
    }
}

impl Drop for Dir<'_> {
    fn drop(&mut self) {
        // SAFETY: the stream is open, owned by this guard alone, and closed once.
        unsafe { sys::glfs_closedir(self.fd.as_ptr()) };
    }
}

impl Volume {
    /// The names in the directory `path`, without `.` and `..`, in the order the
    /// volume lists them (a name that is not UTF-8 comes back lossily converted).
    pub fn read_dir(&self, path: &str) -> Result<Vec<String>, GfapiError> {
        let mut dir = Dir::open(self, path)?;
        let mut names = Vec::new();
        loop {
            match dir.next_name() {
                Ok(Some(name)) if name == "." || name == ".." => {}
                Ok(Some(name)) => names.push(name),
                Ok(None) => return Ok(names),
                Err(errno) => return Err(self.path_error("list", path, errno)),
            }
        }
    }
}
