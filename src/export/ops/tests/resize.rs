use super::*;

#[test]
fn resize_grows_the_image_and_the_record() {
    let fx = Fixture::new();
    let seen = Recorder::default();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let out = fx.ops(&seen).resize(&at("disk1"), 8 * MIB).unwrap();
    assert_eq!(out.previous_size, 4 * MIB);
    assert_eq!(out.record.size, 8 * MIB);
    assert_eq!(out.record.generation, 3);
    assert_eq!(record_on(&fx, "disk1").unwrap(), out.record);
    assert_eq!(image_on(&fx, "disk1"), Some(8 * MIB));
    assert_eq!(seen.changes(), [format!("{VOLUME}/disk1")]);
}

#[test]
fn resize_to_the_same_size_changes_nothing() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let before = fx.snapshot();
    let out = fx.ops(&Quiet).resize(&at("disk1"), 4 * MIB).unwrap();
    assert_eq!(out.record.generation, 2);
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn resize_refuses_to_shrink_misaligned_sizes_and_more_than_the_free_space() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let before = fx.snapshot();
    let ops = fx.ops(&Quiet);
    let cases = [
        (
            MIB,
            "export disk1 is 4194304 bytes; exports only grow (asked 1048576)",
        ),
        (
            8 * MIB + 1,
            "--size 8388609: not a multiple of the 512-byte block size",
        ),
        (0, "--size 0: an export needs at least one block"),
        (1 << 60, "bytes free, 1152921504602652672 needed for disk1"),
    ];
    for (size, expected) in cases {
        let err = ops.resize(&at("disk1"), size).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected:?} in {err:?}");
        assert_eq!(fx.snapshot(), before);
    }
    let err = ops.resize(&at("nothing"), 8 * MIB).unwrap_err();
    assert!(matches!(err, OpsError::NotFound { .. }), "{err}");
}

#[test]
fn resize_of_an_unfinished_create_says_to_finish_it() {
    let fx = Fixture::new();
    let stopped = fx
        .ops(&Quiet)
        .stop_after(Some(Step::CreateImageMade))
        .create(&request("disk1"));
    assert!(stopped.is_err());
    let err = fx.ops(&Quiet).resize(&at("disk1"), 8 * MIB).unwrap_err();
    assert!(matches!(err, OpsError::BeingCreated { .. }), "{err}");
}

#[test]
fn resize_waits_for_reporting_gateways_to_take_the_new_size() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(GW1, 0, &[("disk1", serving(2, &[]))]);
    let seen = Recorder::default();
    let out = std::thread::scope(|s| {
        let resize = s.spawn(|| fx.patient_ops(&seen).resize(&at("disk1"), 8 * MIB));
        seen.await_line("waiting for 127.0.0.1:3260 to serve disk1");
        let mut status = serving(3, &[]);
        status.size = 8 * MIB;
        fx.report(GW1, 0, &[("disk1", status)]);
        resize.join().unwrap().unwrap()
    });
    assert_eq!(out.gateways[0].size, Some(8 * MIB));
    assert_eq!(out.gateways[0].generation, Some(3));
}
