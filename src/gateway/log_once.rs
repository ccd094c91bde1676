//! Log a state once, when it changes, not on every pass.

use std::collections::BTreeMap;

/// The last state logged per key.
#[derive(Debug, Default)]
pub(super) struct LogOnce {
    last: BTreeMap<String, String>,
}

impl LogOnce {
    /// Records `state` for `key`; true when it differs from the one recorded before (or
    /// none was), i.e. when it is worth a log line.
    pub fn changed(&mut self, key: &str, state: &str) -> bool {
        match self.last.get(key) {
            Some(last) if last == state => false,
            _ => {
                self.last.insert(key.to_owned(), state.to_owned());
                true
            }
        }
    }

    /// Forgets `key` (the thing it stood for is gone).
    pub fn forget(&mut self, key: &str) {
        self.last.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_news_once() {
        let mut log = LogOnce::default();
        assert!(log.changed("a", "ready"));
        assert!(!log.changed("a", "ready"));
        assert!(log.changed("a", "error: x"));
        assert!(log.changed("b", "ready"));
        log.forget("a");
        assert!(log.changed("a", "error: x"));
    }
}
