use super::*;

fn words(b: &[u8]) -> Vec<u32> {
    b.chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

/// A reply as glusterd sends it (without the record mark).
fn reply(xid: u32, op_ret: i32, op_errno: i32, spec: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in [xid, 1, 0, 0] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    put_opaque(&mut out, b"");
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&op_ret.to_be_bytes());
    out.extend_from_slice(&op_errno.to_be_bytes());
    put_opaque(&mut out, spec);
    put_opaque(&mut out, b"");
    out
}

#[test]
fn the_request_is_one_record_calling_getspec_with_null_auth() {
    let r = request(7, "gt1");
    assert_eq!(r.len() % 4, 0);
    let w = words(&r);
    assert_eq!(w[0], LAST_FRAGMENT | (r.len() as u32 - 4), "record mark");
    assert_eq!(
        &w[1..11],
        &[7, 0, 2, PROGRAM, VERSION, PROC_GETSPEC, 0, 0, 0, 0]
    );
    assert_eq!(w[11], 0, "flags");
    assert_eq!(w[12], 3, "key length");
    assert_eq!(&r[13 * 4..13 * 4 + 4], b"gt1\0", "key padded to four bytes");
    let dict = op_version_dict();
    assert_eq!(w[14] as usize, dict.len());
    assert_eq!(&r[15 * 4..15 * 4 + dict.len()], &dict[..]);
}

#[test]
fn the_dict_carries_both_op_versions_as_text() {
    let d = op_version_dict();
    assert_eq!(&d[..4], &2u32.to_be_bytes());
    assert_eq!(&d[4..8], &14u32.to_be_bytes(), "key length without its NUL");
    assert_eq!(&d[8..12], &2u32.to_be_bytes(), "\"1\" and its NUL");
    assert_eq!(&d[12..27], b"min-op-version\0");
    assert_eq!(&d[27..29], b"1\0");
    assert!(d.ends_with(b"max-op-version\x00100000\x00"));
}

#[test]
fn a_successful_reply_gives_the_volfile() {
    let spec = b"volume gt1-client-0\n    type protocol/client\nend-volume\n";
    let r = reply(9, spec.len() as i32, 0, spec);
    assert_eq!(parse_reply(9, "gt1", &r), Ok(spec.to_vec()));
}

#[test]
fn refusals_say_why() {
    assert_eq!(
        parse_reply(9, "nope", &reply(9, -1, libc::ENOENT, b"")),
        Err(GetspecError::NoSuchVolume {
            volume: "nope".into()
        })
    );
    assert_eq!(
        parse_reply(9, "gt1", &reply(9, -1, libc::ENOTSUP, b"")),
        Err(GetspecError::Refused {
            volume: "gt1".into(),
            errno: libc::ENOTSUP
        })
    );
    assert_eq!(
        parse_reply(9, "gt1", &reply(9, 0, 0, b"")),
        Err(GetspecError::Refused {
            volume: "gt1".into(),
            errno: 0
        }),
        "an empty volfile is no volfile"
    );
}

#[test]
fn replies_to_other_calls_or_denied_calls_are_malformed() {
    let ok = reply(9, 3, 0, b"abc");
    assert!(matches!(
        parse_reply(8, "v", &ok),
        Err(GetspecError::Malformed(_))
    ));
    let mut denied = ok.clone();
    denied[8..12].copy_from_slice(&1u32.to_be_bytes());
    assert!(matches!(
        parse_reply(9, "v", &denied),
        Err(GetspecError::Malformed(_))
    ));
    let mut not_executed = ok.clone();
    not_executed[20..24].copy_from_slice(&1u32.to_be_bytes());
    assert!(matches!(
        parse_reply(9, "v", &not_executed),
        Err(GetspecError::Malformed(_))
    ));
}

#[test]
fn every_truncated_or_inflated_reply_is_an_error_not_a_panic() {
    let ok = reply(9, 3, 0, b"abc");
    for n in 0..ok.len() - 4 {
        assert!(parse_reply(9, "v", &ok[..n]).is_err(), "cut at {n}");
    }
    let mut huge = ok.clone();
    let at = ok.len() - 12;
    huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(parse_reply(9, "v", &huge).is_err());
}
