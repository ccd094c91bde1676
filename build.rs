//! Links libgfapi for the `glfs` feature through pkg-config (`glusterfs-api`).
//!
//! `glusterfs-api.pc` carries the API version "7.<glusterfs version>": 7.6 is glusterfs
//! 6.0, whose symbol version `GFAPI_6.0` introduced the async callback with pre/post
//! `glfs_stat` arguments and the `glfs_ftruncate`/`glfs_fdatasync` forms with stat
//! pointers that `src/glfs/sys.rs` declares. Older libraries would resolve the same
//! names to the old ABI, so they are refused here rather than crashing at run time.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "glfs")]
    link_gfapi();
}

#[cfg(feature = "glfs")]
fn link_gfapi() {
    if let Err(e) = pkg_config::Config::new()
        .atleast_version("7.6")
        .probe("glusterfs-api")
    {
        panic!(
            "the `glfs` feature needs libgfapi >= 7.6 (glusterfs >= 6.0) through pkg-config \
             (`apt-get install libglusterfs-dev pkg-config`), or build with \
             `--no-default-features`: {e}"
        );
    }
}
