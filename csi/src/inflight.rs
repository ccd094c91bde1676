//! One operation at a time per volume within this process: a second call on a volume
//! whose first is still running gets ABORTED, as the CSI specification asks ("operation
//! pending for volume"), and the caller retries. Between processes (two controllers) the
//! export's lock on the Gluster volume serialises the changes themselves.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use tonic::Status;

/// The keys (volume IDs) being worked on.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    keys: Arc<Mutex<HashSet<String>>>,
}

/// A key held; dropping it lets the next call in.
#[derive(Debug)]
pub struct Held {
    keys: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl InFlight {
    /// Holds `key`, or ABORTED when another call holds it.
    pub fn enter(&self, key: &str) -> Result<Held, Status> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if !keys.insert(key.to_owned()) {
            return Err(Status::aborted(format!(
                "an operation on volume {key} is already running: try again when it is done"
            )));
        }
        Ok(Held {
            keys: self.keys.clone(),
            key: key.to_owned(),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_call_is_aborted_until_the_first_is_done() {
        let f = InFlight::default();
        let held = f.enter("v/a").unwrap();
        assert_eq!(f.enter("v/a").unwrap_err().code(), tonic::Code::Aborted);
        let other = f.enter("v/b").unwrap();
        drop(held);
        let again = f.enter("v/a").unwrap();
        drop((other, again));
    }
}
