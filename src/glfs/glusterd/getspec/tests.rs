use super::*;
use crate::glfs::glusterd::Server;
use std::io::Write;
use std::time::Instant;

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
fn fragments_join_into_one_record_once_all_are_in() {
    let body: Vec<u8> = (0..=255).collect();
    let first = record(&body, 3);
    let mut wire = first.clone();
    wire.extend(record(b"next", 1));
    for cut in 0..first.len() {
        let mut partial = wire[..cut].to_vec();
        assert_eq!(take_record(&mut partial), Ok(None), "cut at {cut}");
        assert_eq!(partial.len(), cut, "an incomplete record stays buffered");
    }
    let mut buf = wire.clone();
    assert_eq!(take_record(&mut buf), Ok(Some(body)));
    assert_eq!(take_record(&mut buf), Ok(Some(b"next".to_vec())));
    assert_eq!(take_record(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn a_record_larger_than_any_volfile_is_refused_before_it_arrives() {
    let mut buf = (LAST_FRAGMENT | (MAX_REPLY as u32 + 1))
        .to_be_bytes()
        .to_vec();
    assert!(matches!(
        take_record(&mut buf),
        Err(GetspecError::Malformed(_))
    ));
    // Fragments adding up past the limit as well.
    let mut buf = ((MAX_REPLY as u32) / 2 + 1).to_be_bytes().to_vec();
    buf.resize(4 + MAX_REPLY / 2 + 1, 0);
    buf.extend_from_slice(&(LAST_FRAGMENT | (MAX_REPLY as u32 / 2 + 1)).to_be_bytes());
    assert!(matches!(
        take_record(&mut buf),
        Err(GetspecError::Malformed(_))
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

/// A stand-in glusterd on loopback: for each call it reads, `answer` gives how long to
/// wait and the bytes to send back (given the call's xid), or `None` to close.
fn fake_glusterd(
    answer: impl Fn(usize, u32) -> Option<(Duration, Vec<u8>)> + Send + 'static,
) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        for n in 0.. {
            let Some(call) = read_call(&mut conn, &mut buf) else {
                return;
            };
            let xid = u32::from_be_bytes(call[..4].try_into().unwrap());
            let Some((delay, bytes)) = answer(n, xid) else {
                return;
            };
            std::thread::sleep(delay);
            conn.write_all(&bytes).unwrap();
        }
    });
    Server {
        host: "127.0.0.1".into(),
        port,
    }
}

fn read_call(conn: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    use std::io::Read;
    loop {
        if let Ok(Some(call)) = take_record(buf) {
            return Some(call);
        }
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn notice() -> Vec<u8> {
    // GLUSTER_CBK_PROGRAM 52743234, version 1, GF_CBK_FETCHSPEC.
    record(
        &[77u32, 0, 2, 52_743_234, 1, 1]
            .map(u32::to_be_bytes)
            .concat(),
        1,
    )
}

fn spec(n: usize) -> Vec<u8> {
    format!("volume v{n}\nend-volume\n").into_bytes()
}

#[test]
fn one_connection_serves_call_after_call_and_hands_out_glusterds_notices() {
    let server = fake_glusterd(|n, xid| {
        let answer = record(&reply(xid, 20, 0, &spec(n)), 3);
        Some(match n {
            // A notice and a stale reply ahead of the answer.
            0 => (
                Duration::ZERO,
                [
                    notice(),
                    record(&reply(xid.wrapping_sub(1), 3, 0, b"old"), 1),
                    answer,
                ]
                .concat(),
            ),
            // A notice right behind the answer.
            1 => (Duration::ZERO, [answer, notice()].concat()),
            // Too late for its caller.
            2 => (Duration::from_millis(500), answer),
            _ => (Duration::ZERO, answer),
        })
    });
    let mut client = Client::connect(&server, Duration::from_secs(5)).unwrap();
    let second = Duration::from_secs(5);
    assert_eq!(client.fetch("v", second).unwrap(), spec(0));
    assert_eq!(client.notices(), 1);
    assert_eq!(client.fetch("v", second).unwrap(), spec(1));
    // The notice read during the first fetch, then the one behind the second answer.
    assert_eq!(client.wait_notice(Duration::from_millis(200)), Ok(true));
    assert_eq!(client.wait_notice(Duration::from_secs(2)), Ok(true));
    assert_eq!(client.notices(), 2);
    assert_eq!(client.wait_notice(Duration::from_millis(200)), Ok(false));
    // A call that times out leaves the connection usable; its late answer is passed over.
    let e = client.fetch("v", Duration::from_millis(200)).unwrap_err();
    assert_eq!(
        e,
        GetspecError::Timeout {
            server: client.server().to_owned(),
            deadline: Duration::from_millis(200)
        }
    );
    assert_eq!(client.fetch("v", second).unwrap(), spec(3));
}

#[test]
fn a_closed_connection_fails_this_call_and_every_later_one_at_once() {
    let server = fake_glusterd(|_, _| None);
    let mut client = Client::connect(&server, Duration::from_secs(5)).unwrap();
    let e = client.fetch("v", Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(e, GetspecError::Unreachable { ref reason, .. } if reason.contains("closed")),
        "{e}"
    );
    let started = Instant::now();
    assert!(matches!(
        client.wait_notice(Duration::from_secs(5)),
        Err(GetspecError::Unreachable { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(1), "no new wait");
}

#[test]
fn glusterds_answer_for_a_volume_keeps_the_connection_usable() {
    let server = fake_glusterd(|n, xid| {
        let answer = match n {
            0 => reply(xid, -1, libc::ENOENT, b""),
            _ => reply(xid, 3, 0, b"abc"),
        };
        Some((Duration::ZERO, record(&answer, 1)))
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
