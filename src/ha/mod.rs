//! One gateway's side of multipath HA (docs/HA.md): whether it holds the image lock,
//! and so which ALUA state its port reports and which commands it serves.
//!
//! The state machine ([`Gateway`]) is pure: it takes events (a command arrived on a
//! standby path, the lock was granted or refused, the bricks fenced a write, the fenced
//! commands drained) and says what to do. The HA control thread (`daemon::ha::driver`) makes the
//! blocking lock calls ([`ImageLock`], `glfs::GlfsFile::take_image_lock`), feeds their
//! outcome back and sets the LUN's state.

#![forbid(unsafe_code)]

use crate::scsi::alua::AccessState;

/// The ALUA state of a gateway without the lock: Active/Non-optimized, not Standby.
/// Linux's ALUA device handler (`scsi_dh_alua.c`, `alua_prep_fn`) fails every request to
/// a path in Standby before it is sent, so media access never reaches a standby gateway
/// and the takeover it should start never happens (seen on the guest tier, `ha-pair`).
/// Non-optimized paths get I/O when no optimized one is left (`prio alua`), and that I/O
/// starts the takeover.
pub const WITHOUT_LOCK: AccessState = AccessState::ActiveNonOptimized;

/// The lock calls the HA control thread makes on a LUN's image (the gfapi image lock,
/// `glfs::GlfsFile`; a fake in tests). Each blocks on the bricks.
pub trait ImageLock: Send + Sync + std::fmt::Debug {
    /// Takes the whole-image lock, preempting any other holder.
    fn take(&self) -> std::io::Result<()>;
    /// Lets go of it.
    fn release(&self) -> std::io::Result<()>;
    /// Whether another owner holds the lock now (it preempted this one).
    fn taken_by_another(&self) -> std::io::Result<bool>;
}

/// Where this gateway stands with the image lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Holds no lock: reports [`WITHOUT_LOCK`] (Active/Non-optimized); the first media
    /// access starts a takeover.
    Standby,
    /// Asking the bricks for the lock: reports Transitioning.
    Acquiring,
    /// Holds the lock: reports Active/Optimized and serves everything.
    Active,
    /// The bricks refused a write (another gateway took the lock, or the connection was
    /// lost): reports Transitioning until every command in flight has failed.
    Fenced,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A media-access command (`scsi::alua::takes_over`) arrived while the port is
    /// standby: the initiator chose this path (implicit ALUA), so this gateway takes over.
    /// The command itself is then answered with the Transitioning sense, which the
    /// initiator retries on the same path until the lock is held.
    MediaAccessOnStandby,
    /// The lock call returned: the lock is held (and any other holder preempted).
    LockGranted,
    /// The lock call failed (bricks unreachable, image gone).
    LockFailed,
    /// A backstore call failed with an errno [`is_fencing_errno`] accepts.
    Fenced,
    /// The last command that was in flight when fenced has completed.
    Drained,
    /// The admin or shutdown gives the lock up.
    Release,
}

/// What the caller must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    /// Start the lock call in the background (it blocks on the bricks).
    TakeLock,
    /// Fail every command in flight and every new one with the Transitioning sense,
    /// never retrying a write on this gateway, and report [`Event::Drained`] after.
    FailInFlight,
    /// Raise ASYMMETRIC ACCESS STATE CHANGED on this LUN's I_T nexuses.
    AnnounceStateChange,
    /// Let go of the lock (F_UNLCK), then announce the state change.
    ReleaseLock,
}

/// The lock state machine of one LUN on one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gateway {
    state: LockState,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            state: LockState::Standby,
        }
    }
}

impl Gateway {
    pub fn state(&self) -> LockState {
        self.state
    }

    /// The ALUA state this gateway's target port group reports.
    pub fn access_state(&self) -> AccessState {
        match self.state {
            LockState::Standby => WITHOUT_LOCK,
            LockState::Acquiring | LockState::Fenced => AccessState::Transitioning,
            LockState::Active => AccessState::ActiveOptimized,
        }
    }

    /// Moves on `event` and says what to do. Events that do not apply in a state
    /// (a late grant after a release, a fence while standby) change nothing.
    pub fn on(&mut self, event: Event) -> Action {
        use LockState::*;
        let (next, action) = match (self.state, event) {
            (Standby, Event::MediaAccessOnStandby) => (Acquiring, Action::TakeLock),
            (Acquiring, Event::LockGranted) => (Active, Action::AnnounceStateChange),
            (Acquiring, Event::LockFailed) => (Standby, Action::AnnounceStateChange),
            (Active | Acquiring, Event::Fenced) => (Fenced, Action::FailInFlight),
            (Fenced, Event::Drained) => (Standby, Action::AnnounceStateChange),
            (Active, Event::Release) => (Standby, Action::ReleaseLock),
            (state, _) => (state, Action::None),
        };
        self.state = next;
        action
    }
}

/// Whether a backstore errno means the bricks no longer take this gateway's writes:
/// EBUSY (the enforced lock is another owner's), EAGAIN (a discard or zero-fill past a
/// lock it does not hold), EBADFD (the fd lost its locks when its connection dropped),
/// ENOTCONN (cut off: whether the lock is still held cannot be known, so it is not).
pub fn is_fencing_errno(errno: i32) -> bool {
    matches!(
        errno,
        libc::EBUSY | libc::EAGAIN | libc::EBADFD | libc::ENOTCONN
    )
}

#[cfg(test)]
mod tests;
