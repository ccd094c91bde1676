//! From a CSI capacity range to an export's size, and back.
//!
//! Sizes are rounded up to whole MiB (filesystems and partition tools align to it), or to
//! the 512-byte block when only that fits under the limit.

use crate::core::BLOCK_SIZE;
use crate::proto::CapacityRange;
use tonic::Status;

/// The size of a volume asked for with no required size.
pub const DEFAULT_SIZE: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// A capacity range, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// At least this many bytes (0: any).
    pub required: u64,
    /// At most this many (`None`: no limit).
    pub limit: Option<u64>,
}

impl Range {
    /// Checks a request's range; none is "any size".
    pub fn from_request(range: Option<&CapacityRange>) -> Result<Range, Status> {
        let Some(r) = range else {
            return Ok(Range {
                required: 0,
                limit: None,
            });
        };
        let bytes = |v: i64, what: &str| {
            u64::try_from(v).map_err(|_| {
                Status::invalid_argument(format!("capacity_range {what} {v} is negative"))
            })
        };
        let required = bytes(r.required_bytes, "required_bytes")?;
        let limit = bytes(r.limit_bytes, "limit_bytes")?;
        let limit = (limit > 0).then_some(limit);
        if let Some(l) = limit.filter(|l| *l < required) {
            return Err(Status::invalid_argument(format!(
                "capacity_range limit_bytes {l} is below required_bytes {required}"
            )));
        }
        Ok(Range { required, limit })
    }

    /// True when a volume of `size` bytes satisfies the range.
    pub fn admits(&self, size: u64) -> bool {
        size >= self.required && self.limit.is_none_or(|l| size <= l)
    }

    /// The size to make: the required size rounded up (to a MiB, or to a block when a
    /// MiB would pass the limit), or the default size under the limit.
    pub fn size(&self) -> Result<u64, Status> {
        let block = u64::from(BLOCK_SIZE);
        let wanted = match (self.required, self.limit) {
            (0, None) => DEFAULT_SIZE,
            (0, Some(l)) => DEFAULT_SIZE.min(l / block * block),
            (r, _) => r,
        };
        let candidates = [round_up(wanted, MIB), round_up(wanted, block)];
        candidates
            .into_iter()
            .flatten()
            .find(|s| *s > 0 && self.admits(*s))
            .ok_or_else(|| {
                Status::out_of_range(format!(
                    "no size in {self} is a positive multiple of the {BLOCK_SIZE}-byte block"
                ))
            })
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.limit {
            Some(l) => write!(f, "{}..={l} bytes", self.required),
            None => write!(f, "{}.. bytes", self.required),
        }
    }
}

fn round_up(n: u64, to: u64) -> Option<u64> {
    n.div_ceil(to).checked_mul(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(required: i64, limit: i64) -> Result<Range, Status> {
        Range::from_request(Some(&CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        }))
    }

    #[test]
    fn sizes_round_up_to_a_mib_or_a_block() {
        assert_eq!(
            Range::from_request(None).unwrap().size().unwrap(),
            DEFAULT_SIZE
        );
        assert_eq!(range(1, 0).unwrap().size().unwrap(), MIB);
        assert_eq!(range(MIB as i64, MIB as i64).unwrap().size().unwrap(), MIB);
        assert_eq!(range(1000, 4096).unwrap().size().unwrap(), 1024);
        assert_eq!(range(0, 10 * MIB as i64).unwrap().size().unwrap(), 10 * MIB);
        assert_eq!(range(0, 1000).unwrap().size().unwrap(), 512);
    }

    #[test]
    fn impossible_ranges_are_refused() {
        assert_eq!(
            range(-1, 0).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            range(10, 5).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let tight = range(1000, 1010).unwrap();
        assert_eq!(tight.size().unwrap_err().code(), tonic::Code::OutOfRange);
        assert_eq!(
            range(0, 100).unwrap().size().unwrap_err().code(),
            tonic::Code::OutOfRange
        );
    }

    #[test]
    fn admits_is_inclusive() {
        let r = range(10, 20).unwrap();
        assert!(r.admits(10) && r.admits(20));
        assert!(!r.admits(9) && !r.admits(21));
        assert!(range(10, 0).unwrap().admits(u64::MAX));
    }
}
