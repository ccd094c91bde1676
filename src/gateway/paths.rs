//! What the gateway reports of its HA LUNs' paths: asked of whoever serves the LUNs (the
//! daemon's reactors), which the gateway does not reach itself.

use crate::export::PathStatus;
use std::fmt::Debug;

/// Tells the state of the path through this gateway to a served LUN.
pub trait LunPaths: Send + Sync + Debug {
    /// The path state of the LUN whose storage object is named `lun`, when it is served
    /// here and has target port groups; `None` otherwise.
    fn path(&self, lun: &str) -> Option<PathStatus>;
}

/// No LUN is served here (a gateway without a daemon around it, as in tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPaths;

impl LunPaths for NoPaths {
    fn path(&self, _lun: &str) -> Option<PathStatus> {
        None
    }
}
