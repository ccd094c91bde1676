pub(crate) mod attempt;
pub(crate) mod check;
pub(crate) mod keep;
pub(crate) mod registry;
