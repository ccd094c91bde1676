use super::*;
use crate::scsi::alua::AccessState;

#[test]
fn a_standby_gateway_takes_over_on_media_access_and_serves_once_granted() {
    let mut g = Gateway::default();
    // Without the lock the port is Active/Non-optimized: Linux sends no I/O to a
    // Standby path, so a standby gateway would never see the media access below.
    assert_eq!(g.access_state(), AccessState::ActiveNonOptimized);
    assert_eq!(g.on(Event::MediaAccessOnStandby), Action::TakeLock);
    assert_eq!(g.access_state(), AccessState::Transitioning);
    assert_eq!(
        g.on(Event::MediaAccessOnStandby),
        Action::None,
        "one lock call"
    );
    assert_eq!(g.on(Event::LockGranted), Action::AnnounceStateChange);
    assert_eq!(g.access_state(), AccessState::ActiveOptimized);
}

#[test]
fn a_fenced_gateway_fails_what_is_in_flight_before_it_is_standby_again() {
    let mut g = Gateway::default();
    g.on(Event::MediaAccessOnStandby);
    g.on(Event::LockGranted);
    assert_eq!(g.on(Event::Fenced), Action::FailInFlight);
    assert_eq!(g.access_state(), AccessState::Transitioning);
    assert_eq!(g.on(Event::Fenced), Action::None);
    assert_eq!(
        g.on(Event::MediaAccessOnStandby),
        Action::None,
        "no lock while draining"
    );
    assert_eq!(g.on(Event::Drained), Action::AnnounceStateChange);
    assert_eq!(g.state(), LockState::Standby);
}

#[test]
fn a_failed_lock_call_goes_back_to_standby_and_a_late_grant_is_ignored() {
    let mut g = Gateway::default();
    g.on(Event::MediaAccessOnStandby);
    assert_eq!(g.on(Event::LockFailed), Action::AnnounceStateChange);
    assert_eq!(g.state(), LockState::Standby);
    assert_eq!(g.on(Event::LockGranted), Action::None);
    assert_eq!(g.state(), LockState::Standby);
}

#[test]
fn release_gives_the_lock_up_only_when_held() {
    let mut g = Gateway::default();
    assert_eq!(g.on(Event::Release), Action::None);
    g.on(Event::MediaAccessOnStandby);
    g.on(Event::LockGranted);
    assert_eq!(g.on(Event::Release), Action::ReleaseLock);
    assert_eq!(g.access_state(), AccessState::ActiveNonOptimized);
}

#[test]
fn the_errnos_the_bricks_fence_with() {
    for errno in [libc::EBUSY, libc::EAGAIN, libc::EBADFD, libc::ENOTCONN] {
        assert!(is_fencing_errno(errno), "{errno}");
    }
    for errno in [libc::EIO, libc::ENOSPC, libc::EINVAL] {
        assert!(!is_fencing_errno(errno), "{errno}");
    }
}
