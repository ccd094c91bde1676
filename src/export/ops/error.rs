//! Why an export command failed. Every message says what is wrong and, where there is
//! something to do about it, what: the CLI prints it as it is, on one line.

use super::Step;
use crate::export::location::VolumeAddr;
use crate::export::record::RecordError;
use crate::export::store::StoreError;
use std::fmt;
use std::time::Duration;

/// A field of an existing export that a repeated create asked otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The record's field name.
    pub field: &'static str,
    /// What the export has.
    pub existing: String,
    /// What the command asked.
    pub asked: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (asked {})", self.field, self.existing, self.asked)
    }
}

/// Why an export command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{option} {value}: {reason}")]
    Input {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("name at least one --gateway (the portal IP[:PORT] of a gateway serving the export)")]
    NoGateway,
    #[error(
        "the LUN's config string {config} is {len} bytes, more than the kernel's 255: \
         use a name of at most {name_max} characters, or fewer or shorter server names"
    )]
    ConfigTooLong {
        config: String,
        len: usize,
        name_max: usize,
    },
    #[error("name the volume: VOLUME@SERVER/{name} (no [exports] volumes configured)")]
    NoVolumes { name: String },
    #[error("name the volume: VOLUME@SERVER (no [exports] volumes configured)")]
    NoVolumeToList,
    #[error("no export {name} on {looked_in}")]
    NotFound { name: String, looked_in: String },
    #[error("export {name} is on several volumes ({volumes}): name it as VOLUME@SERVER/{name}")]
    Ambiguous { name: String, volumes: String },
    #[error(
        "cannot reach volume {volume}: {reason}; check the volume's name and servers, and \
         that it is started (`gluster volume status`)"
    )]
    Unreachable { volume: String, reason: String },
    #[error(
        "volume {volume}: {failed}: input/output error; on a replicated volume this is most \
         often a split-brain (`gluster volume heal {name} info split-brain`)"
    )]
    SplitBrain {
        volume: String,
        name: String,
        /// What failed, as the store says it (`cannot read PATH`).
        failed: String,
    },
    #[error("volume {volume}: {source}")]
    Store {
        volume: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "the record of export {name} on {volume} is corrupt: {source}; \
         fix or remove {path} on the volume (`export delete --force` removes it)"
    )]
    Corrupt {
        name: String,
        volume: String,
        path: String,
        #[source]
        source: RecordError,
    },
    #[error("export {name} exists on {volume} with {}: delete it first or choose another name", join(.differences))]
    Exists {
        name: String,
        volume: String,
        differences: Vec<Difference>,
    },
    #[error(
        "{image} exists on {volume} without an export record (not made by `export create`): \
         remove it or choose another name"
    )]
    OrphanImage { volume: String, image: String },
    #[error(
        "export {name} names {gateways} gateways, which makes it a multipath HA export, but \
         volume {volume} cannot fence its image: {why} (docs/HA.md); name one gateway, or \
         change the volume"
    )]
    NotForHa {
        name: String,
        volume: String,
        gateways: usize,
        why: &'static str,
    },
    #[error(
        "export {name} is being deleted: finish with `gluster-tcmu export delete {volume}/{name}`"
    )]
    BeingDeleted { name: String, volume: String },
    #[error(
        "export {name} is still being created: finish with the same `gluster-tcmu export create`"
    )]
    BeingCreated { name: String },
    #[error(
        "export {name} is {size} bytes; exports only grow (asked {asked}): \
         create a new export for a smaller disk"
    )]
    Shrink { name: String, size: u64, asked: u64 },
    #[error(
        "the image of export {name} is already {image} bytes (asked {asked}): a resize to \
         {image} did not finish; run it again with --size {image}"
    )]
    UnfinishedResize {
        name: String,
        image: u64,
        asked: u64,
    },
    #[error(
        "{volume} has {free} bytes free, {needed} needed for {name}: free space on the \
         volume or ask for less"
    )]
    NoSpace {
        name: String,
        volume: String,
        needed: u64,
        free: u64,
    },
    #[error(
        "export {name} is {state} but its image {image} is {}: delete the export and create it again",
        .found.map_or("missing".to_owned(), |n| format!("{n} bytes, less than {size}"))
    )]
    ImageLost {
        name: String,
        state: String,
        image: String,
        size: u64,
        found: Option<u64>,
    },
    #[error(
        "export {name} has initiators logged in ({}): log them out first, or use --force",
        .sessions.join(", ")
    )]
    Sessions { name: String, sessions: Vec<String> },
    #[error(
        "gateways {} still serve export {name} after {}s; it stays marked for \
         deletion and they drop it when they next look: run the delete again later, or \
         with --force to remove it now",
        .gateways.join(", "), .waited.as_secs()
    )]
    StillServed {
        name: String,
        gateways: Vec<String>,
        waited: Duration,
    },
    #[error(
        "export {name} is being changed by {holder} ({path} on the volume): try again when \
         it is done"
    )]
    Locked {
        name: String,
        holder: String,
        path: String,
    },
    #[error("export {name} kept changing while this command ran: run it again")]
    Raced { name: String },
    #[error("no export {from} on {volume} to clone from")]
    SourceNotFound { from: String, volume: String },
    #[error(
        "export {from} is {state}, not ready: only a ready export can be cloned \
         (finish its command first)"
    )]
    SourceNotReady { from: String, state: String },
    #[error(
        "export {from} has initiators logged in ({}): one could be writing, so a copy \
         would be torn; log them out (stop what uses the disk) and clone again",
        .sessions.join(", ")
    )]
    SourceInUse { from: String, sessions: Vec<String> },
    #[error(
        "export {from} is {size} bytes: a clone of it needs at least that much \
         (asked {asked})"
    )]
    CloneTooSmall { from: String, size: u64, asked: u64 },
    #[error("cannot read random bytes from /dev/urandom")]
    Random(#[source] std::io::Error),
    #[error("stopped after step {0:?} (test hook)")]
    Stopped(Step),
}

fn join(differences: &[Difference]) -> String {
    let texts: Vec<String> = differences.iter().map(ToString::to_string).collect();
    texts.join(", ")
}

impl OpsError {
    /// A store error on `volume`.
    pub fn store(volume: &VolumeAddr) -> impl Fn(StoreError) -> OpsError + '_ {
        move |source| match source {
            StoreError::Unreachable(reason) => OpsError::Unreachable {
                volume: volume.to_string(),
                reason: reason.to_string(),
            },
            source if source.errno() == Some(libc::EIO) => OpsError::SplitBrain {
                volume: volume.to_string(),
                name: volume.volume.clone(),
                failed: source.to_string(),
            },
            source => OpsError::Store {
                volume: volume.to_string(),
                source,
            },
        }
    }

    /// Bad input to `option`.
    pub fn input(
        option: &'static str,
        value: impl fmt::Display,
        reason: impl fmt::Display,
    ) -> Self {
        OpsError::Input {
            option,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}
