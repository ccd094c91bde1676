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

/// `body` as one record in `parts` fragments.
fn record(body: &[u8], parts: usize) -> Vec<u8> {
    let step = body.len().div_ceil(parts).max(1);
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = body.chunks(step).collect();
    for (i, c) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() {
            LAST_FRAGMENT
        } else {
            0
        };
        out.extend_from_slice(&(last | c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn fragments_join_into_one_record_and_an_oversized_one_is_refused() {
    let body: Vec<u8> = (0..=255).collect();
    let wire = record(&body, 3);
    let got = read_record(&mut std::io::Cursor::new(&wire));
    assert!(matches!(got, Ok(ref r) if *r == body));
    let huge = (LAST_FRAGMENT | (MAX_REPLY as u32 + 1)).to_be_bytes();
    assert!(matches!(
        read_record(&mut std::io::Cursor::new(&huge)),
        Err(RecordError::TooLarge)
    ));
    assert!(matches!(
        read_record(&mut std::io::Cursor::new(&wire[..wire.len() - 1])),
        Err(RecordError::Io(_))
    ));
}

#[test]
fn records_are_told_apart_by_message_type() {
    assert_eq!(record_kind(&reply(5, 0, 0, b"x")), Some(Kind::Reply(5)));
    let call = [7u32, 0, 2].map(u32::to_be_bytes).concat();
    assert_eq!(record_kind(&call), Some(Kind::Call));
    assert_eq!(record_kind(&[0, 0, 0, 1, 0, 0, 0, 9]), None);
    assert_eq!(record_kind(&[0, 0, 0]), None);
}

/// A stand-in glusterd on loopback: for each call it reads, `answer` gives the bytes to
/// send back (given the call's xid), or `None` to stay silent from then on.
fn fake_glusterd(answer: impl Fn(usize, u32) -> Option<Vec<u8>> + Send + 'static) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for n in 0.. {
            let Ok(call) = read_record(&mut conn) else {
                return;
            };
            let xid = u32::from_be_bytes(call[..4].try_into().unwrap());
            match answer(n, xid) {
                Some(bytes) => conn.write_all(&bytes).unwrap(),
                None => {
                    std::thread::sleep(Duration::from_secs(5));
                    return;
                }
            }
        }
    });
    Server {
        host: "127.0.0.1".into(),
        port,
    }
}

#[test]
fn one_connection_serves_call_after_call_passing_over_glusterds_notices() {
    let server = fake_glusterd(|n, xid| {
        let spec = format!("volume v{n}\nend-volume\n");
        let mut out = Vec::new();
        if n == 0 {
            // glusterd's FETCHSPEC notice, then a stale reply, then the answer in pieces.
            out.extend(record(
                &[77u32, 0, 2, 52_743_234, 1, 1]
                    .map(u32::to_be_bytes)
                    .concat(),
                1,
            ));
            out.extend(record(&reply(xid.wrapping_sub(1), 0, 0, b"old"), 1));
        }
        out.extend(record(
            &reply(xid, spec.len() as i32, 0, spec.as_bytes()),
            3,
        ));
        (n < 2).then_some(out)
    });
    let mut client = Client::connect(&server, Duration::from_secs(5)).unwrap();
    assert_eq!(
        client.fetch("v", Duration::from_secs(5)).unwrap(),
        b"volume v0\nend-volume\n"
    );
    assert_eq!(client.notices(), 1);
    assert_eq!(
        client.fetch("v", Duration::from_secs(5)).unwrap(),
        b"volume v1\nend-volume\n"
    );
    // The third call gets no answer: a timeout, and the connection is done for.
    let e = client.fetch("v", Duration::from_millis(200)).unwrap_err();
    assert_eq!(
        e,
        GetspecError::Timeout {
            server: client.server().to_owned(),
            deadline: Duration::from_millis(200)
        }
    );
    let started = Instant::now();
    assert!(matches!(
        client.fetch("v", Duration::from_secs(5)),
        Err(GetspecError::Unreachable { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(1), "no new wait");
}

#[test]
fn glusterds_answer_for_a_volume_keeps_the_connection_usable() {
    let server = fake_glusterd(|n, xid| {
        Some(match n {
            0 => record(&reply(xid, -1, libc::ENOENT, b""), 1),
            _ => record(&reply(xid, 3, 0, b"abc"), 1),
        })
    });
    let mut client = Client::connect(&server, Duration::from_secs(5)).unwrap();
    assert_eq!(
        client.fetch("nope", Duration::from_secs(5)),
        Err(GetspecError::NoSuchVolume {
            volume: "nope".into()
        })
    );
    assert_eq!(client.fetch("v", Duration::from_secs(5)).unwrap(), b"abc");
}

#[test]
fn errors_map_to_the_errnos_an_open_reports() {
    let refused = |errno| GetspecError::Refused {
        volume: "v".into(),
        errno,
    };
    assert_eq!(
        GetspecError::NoSuchVolume { volume: "v".into() }.errno(),
        libc::ENOENT
    );
    assert_eq!(refused(libc::ENOTSUP).errno(), libc::ENOTSUP);
    assert_eq!(refused(0).errno(), libc::EINVAL);
    assert_eq!(GetspecError::Malformed("x").errno(), libc::EPROTO);
    let timeout = GetspecError::Timeout {
        server: "s".into(),
        deadline: Duration::from_secs(1),
    };
    assert_eq!(timeout.errno(), libc::ETIMEDOUT);
}
