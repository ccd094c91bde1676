//! Unit and property tests for the SCSI emulation, one file per command family.

mod alua;
mod attention;
mod block;
mod copy;
mod inquiry;
mod lun;
mod mode;
mod opcodes;
mod props;
mod provisioning;
mod sense;
mod vpd;

use super::*;

/// A unit with the default configuration.
pub(super) fn lun() -> ScsiLun {
    lun_with(LunConfig::default())
}

/// A unit with a custom configuration, its power-on unit attention already collected.
pub(super) fn lun_with(cfg: LunConfig) -> ScsiLun {
    let mut l = fresh(cfg);
    assert_eq!(check(run(&mut l, &[0; 6])), Sense::ua_power_on_reset());
    l
}

/// A unit straight after open, unit attention still pending.
pub(super) fn fresh(cfg: LunConfig) -> ScsiLun {
    ScsiLun::new(cfg).expect("valid test config")
}

/// Dispatches `cdb` with `data` as data-out.
pub(super) fn run_with(lun: &mut ScsiLun, cdb: &[u8], data: &[u8]) -> Dispatch {
    lun.dispatch(cdb, &data)
}

/// Dispatches `cdb` with no data-out.
pub(super) fn run(lun: &mut ScsiLun, cdb: &[u8]) -> Dispatch {
    lun.dispatch(cdb, &Vec::new())
}

/// The data of a GOOD reply; panics on anything else.
pub(super) fn good_data(d: Dispatch) -> Vec<u8> {
    match d {
        Dispatch::Reply(Reply {
            status: Status::Good,
            data,
        }) => data,
        other => panic!("expected GOOD, got {other:?}"),
    }
}

/// The sense of a CHECK CONDITION, round-tripped through both wire formats.
pub(super) fn check(d: Dispatch) -> Sense {
    let Dispatch::Reply(Reply {
        status: Status::CheckCondition(s),
        data,
    }) = d
    else {
        panic!("expected CHECK CONDITION, got {d:?}");
    };
    assert!(data.is_empty());
    for desc in [false, true] {
        assert_eq!(Sense::decode(&s.to_vec(desc)), Some(s), "desc={desc}");
    }
    s
}

/// The block I/O of a dispatch; panics on a reply.
pub(super) fn io(d: Dispatch) -> BlockIo {
    match d {
        Dispatch::Io(io) => io,
        other => panic!("expected I/O, got {other:?}"),
    }
}

/// Asserts ILLEGAL REQUEST / INVALID FIELD IN CDB at `byte`/`bit`.
pub(super) fn assert_invalid_cdb(d: Dispatch, byte: u16, bit: Option<u8>) {
    assert_eq!(check(d), Sense::invalid_field_in_cdb(byte, bit));
}
