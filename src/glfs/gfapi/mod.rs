pub(crate) mod callback;
pub(crate) mod file;
pub mod sys;
pub(crate) mod volume;
