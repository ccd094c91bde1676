//! A model disk and a random-I/O driver that checks every completion against it, shared
//! by the RAM, file and glfs integration tests.

use super::*;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel, SubmitError};
use std::collections::HashMap;
use std::time::Duration;

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Read { lba: u64, blocks: u32 },
    Write { lba: u64, blocks: u32, seed: u64 },
    Flush,
}

impl Op {
    pub fn range(&self) -> Option<(u64, u64)> {
        match *self {
            Op::Read { lba, blocks } | Op::Write { lba, blocks, .. } => {
                Some((lba, lba + u64::from(blocks)))
            }
            Op::Flush => None,
        }
    }
}

/// The disk as the initiator expects it; it lives as long as the device's data.
pub struct Model {
    pub bytes: Vec<u8>,
    pub blocks: u64,
}

impl Model {
    pub fn new(blocks: u64) -> Self {
        Self {
            bytes: vec![0u8; (blocks * u64::from(BLOCK)) as usize],
            blocks,
        }
    }
}

pub fn run_model(k: &mut FakeKernel, model: &mut Model, total: usize, depth: usize, rng: &mut Rng) {
    run_model_with(k, model, total, depth, rng, &mut |k| {
        assert!(
            k.wait_kick(Duration::from_secs(10)).unwrap(),
            "handler went quiet"
        );
    })
}

/// Drives `total` random commands with at most `depth` in flight, never two in-flight
/// commands on overlapping blocks, so the model's answer is the only correct one.
/// `pump` waits for or produces progress between submissions.
pub fn run_model_with(
    k: &mut FakeKernel,
    model: &mut Model,
    total: usize,
    depth: usize,
    rng: &mut Rng,
    pump: &mut dyn FnMut(&mut FakeKernel),
) {
    let blocks = model.blocks;
    let mut pending: HashMap<u16, Op> = HashMap::new();
    let (mut issued, mut finished) = (0, 0);
    while finished < total {
        while issued < total && pending.len() < depth {
            let op = pick(rng, blocks, &pending);
            match submit(k, op) {
                Ok(id) => {
                    pending.insert(id, op);
                    issued += 1;
                }
                Err(SubmitError::RingFull | SubmitError::DataFull) => break,
                Err(e) => panic!("submit: {e:?}"),
            }
        }
        pump(k);
        for c in k.reap().expect("protocol violation") {
            let op = pending
                .remove(&c.cmd_id)
                .expect("completion for an unknown command");
            check(&mut model.bytes, op, &c);
            finished += 1;
        }
    }
}

pub fn pick(rng: &mut Rng, blocks: u64, pending: &HashMap<u16, Op>) -> Op {
    loop {
        let kind = rng.below(10);
        if kind == 0 {
            return Op::Flush;
        }
        let n = 1 + rng.below(64) as u32;
        let lba = rng.below(blocks - u64::from(n));
        let op = if kind < 5 {
            Op::Read { lba, blocks: n }
        } else {
            Op::Write {
                lba,
                blocks: n,
                seed: rng.next(),
            }
        };
        let (a, b) = op.range().unwrap();
        let clash = pending
            .values()
            .filter_map(Op::range)
            .any(|(c, d)| a < d && c < b);
        if !clash {
            return op;
        }
    }
}

pub fn submit(k: &mut FakeKernel, op: Op) -> Result<u16, SubmitError> {
    match op {
        Op::Read { lba, blocks } => k.submit(
            &read16(lba, blocks),
            DataDir::FromDevice((blocks * BLOCK) as usize),
        ),
        Op::Write { lba, blocks, seed } => k.submit(
            &write16(lba, blocks, seed % 2 == 0),
            DataDir::ToDevice(&pattern(lba, blocks, seed)),
        ),
        Op::Flush => k.submit(&sync_cache10(), DataDir::None),
    }
}

pub fn check(model: &mut [u8], op: Op, c: &Completed) {
    assert_eq!(c.status, 0, "{op:?} failed: {c:?}");
    let span =
        |lba: u64, blocks: u32| (lba * 512) as usize..((lba + u64::from(blocks)) * 512) as usize;
    match op {
        Op::Read { lba, blocks } => {
            let want = &model[span(lba, blocks)];
            if c.data_in != want {
                let first = c.data_in.iter().zip(want).position(|(a, b)| a != b);
                panic!(
                    "{op:?} returned wrong data: len {} vs {}, first difference at {first:?}, read_len {:?}",
                    c.data_in.len(),
                    want.len(),
                    c.read_len
                );
            }
        }
        Op::Write { lba, blocks, seed } => {
            model[span(lba, blocks)].copy_from_slice(&pattern(lba, blocks, seed))
        }
        Op::Flush => {}
    }
}
