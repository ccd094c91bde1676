//! Many CreateVolume calls at once, as an external-provisioner with many claims makes
//! them, against the real driver on the loopback volumes: 20 calls with repeated names
//! give exactly the volumes asked for (each name one volume, every call for it the same
//! answer), and the throughput of 10 creates at once. The times are printed (run with
//! `--nocapture` to see them).

mod driver;

use driver::*;
use gluster_tcmu_csi::proto::*;
use std::collections::BTreeMap;
use std::time::Instant;
use tonic::Code;

/// Runs the creates `names` all at once; each name's answers, in call order, and the
/// wall time. A call answered ABORTED (another call on the same name is running) is
/// made again, as the sidecars do.
async fn create_all(
    driver: &Driver,
    cleanup: &Cleanup,
    volume: &str,
    names: Vec<String>,
) -> (Vec<(String, Volume)>, std::time::Duration, usize) {
    let ch = driver.channel().await;
    let aborted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let calls = names.into_iter().map(|name| {
        let ch = ch.clone();
        let aborted = aborted.clone();
        let volume = volume.to_owned();
        tokio::spawn(async move {
            let req = create_request(&name, &volume, 8 * MIB);
            loop {
                match controller(&ch).create_volume(req.clone()).await {
                    Err(e) if e.code() == Code::Aborted => {
                        aborted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("create {name}: {e}"),
                    Ok(r) => return (name, r.into_inner().volume.unwrap()),
                }
            }
        })
    });
    let tasks: Vec<_> = calls.collect();
    let mut out = Vec::new();
    for t in tasks {
        let (name, v) = t.await.unwrap();
        cleanup.add(&v.volume_id);
        out.push((name, v));
    }
    let aborted = aborted.load(std::sync::atomic::Ordering::Relaxed);
    (out, start.elapsed(), aborted)
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_creates_at_once_with_repeated_names_make_exactly_the_volumes_asked() {
    let volume = "gt3";
    let driver = Driver::start(volume, None);
    let cleanup = Cleanup::new(&driver);
    let distinct: Vec<String> = (0..8).map(|i| unique(&format!("many{i}"))).collect();
    let names: Vec<String> = (0..20).map(|i| distinct[i % 8].clone()).collect();
    let (answers, took, aborted) = create_all(&driver, &cleanup, volume, names).await;
    println!(
        "20 CreateVolume at once (8 names) on {volume}: {:.2} s wall, {aborted} ABORTED \
         answers retried",
        took.as_secs_f64()
    );
    let mut by_name: BTreeMap<&str, Vec<&Volume>> = BTreeMap::new();
    for (name, v) in &answers {
        assert_eq!(v.volume_id, format!("{volume}@{HOST}/{name}"));
        let seen = by_name.entry(name).or_default();
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    assert_eq!(by_name.len(), 8, "one volume per name");
    for (name, answers) in &by_name {
        assert_eq!(answers.len(), 1, "{name}: every call the same volume");
    }
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn throughput_of_ten_creates_at_once() {
    for volume in ["gt1", "gt3"] {
        let driver = Driver::start(volume, None);
        let cleanup = Cleanup::new(&driver);
        // The connection to the volume is made before the clock starts.
        let warm = create_all(&driver, &cleanup, volume, vec![unique("warm")]).await;
        let names: Vec<String> = (0..10).map(|i| unique(&format!("tp{i}"))).collect();
        let (answers, took, _) = create_all(&driver, &cleanup, volume, names).await;
        assert_eq!(answers.len(), 10);
        println!(
            "10 CreateVolume at once on {volume}: {:.2} s wall, {:.1} volumes/s \
             (one create alone: {:.3} s)",
            took.as_secs_f64(),
            10.0 / took.as_secs_f64(),
            warm.1.as_secs_f64()
        );
        let start = Instant::now();
        cleanup.run().await;
        println!(
            "11 DeleteVolume one after another on {volume}: {:.2} s",
            start.elapsed().as_secs_f64()
        );
    }
}
