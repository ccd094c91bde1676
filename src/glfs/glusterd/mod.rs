pub mod getspec;
pub(crate) mod watch;
