//! `export create`: check everything, publish a `creating` record (or adopt the one a
//! create of the same export made), make the image, mark the record `ready`.

use super::gateways::GatewayView;
use super::{Advanced, Difference, Found, Ops, OpsError, RETRIES, Step};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::random;
use crate::export::record::{
    BLOCK_SIZE, ChapPair, ChapRecord, DEFAULT_CMD_TIME_OUT, DEFAULT_HW_MAX_SECTORS,
    MAX_HW_MAX_SECTORS, RECORD_VERSION, Record, RecordError, State,
};
use crate::export::store::StoreError;
use crate::lio::{DEV_CONFIG_MAX, DevConfig, InitiatorName};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The iSCSI port a gateway given without one listens on.
pub const DEFAULT_PORT: u16 = 3260;
/// Temporary files older than this are a crashed writer's, swept by a create.
const TMP_AGE: Duration = Duration::from_secs(3600);

/// Which CHAP an export asks of its initiators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChapMode {
    /// None: any initiator the ACL lets in logs in without a secret.
    #[default]
    None,
    /// The initiator proves itself.
    OneWay,
    /// Both sides prove themselves.
    Mutual,
}

impl ChapMode {
    /// The mode a record has.
    pub fn of(record: &Record) -> ChapMode {
        match &record.chap {
            None => ChapMode::None,
            Some(ChapRecord { target: None, .. }) => ChapMode::OneWay,
            Some(ChapRecord {
                target: Some(_), ..
            }) => ChapMode::Mutual,
        }
    }
}

impl fmt::Display for ChapMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChapMode::None => "none",
            ChapMode::OneWay => "one-way",
            ChapMode::Mutual => "mutual",
        })
    }
}

/// What `export create` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub location: ExportLocation,
    /// Bytes.
    pub size: u64,
    pub prealloc: bool,
    /// Portals, the first being the one clients try first.
    pub gateways: Vec<SocketAddr>,
    /// Initiators allowed in; empty for any.
    pub initiators: Vec<String>,
    pub chap: ChapMode,
    pub hw_max_sectors: u32,
}

impl CreateRequest {
    /// A request with the defaults: sparse, no initiator list, no CHAP.
    pub fn new(location: ExportLocation, size: u64, gateways: Vec<SocketAddr>) -> Self {
        CreateRequest {
            location,
            size,
            prealloc: false,
            gateways,
            initiators: Vec::new(),
            chap: ChapMode::None,
            hw_max_sectors: DEFAULT_HW_MAX_SECTORS,
        }
    }
}

/// What `export create` made (or found made by an earlier create of the same).
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    pub location: ExportLocation,
    /// The record, with its secrets (the admin needs them).
    pub record: Record,
    pub gateways: Vec<GatewayView>,
}

/// A gateway's portal from the command line: `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT`
/// (port 3260 when not given).
pub fn parse_gateway(given: &str) -> Result<SocketAddr, OpsError> {
    let bad = |why: &str| OpsError::input("--gateway", given, why);
    let addr = if let Ok(addr) = given.parse::<SocketAddr>() {
        addr
    } else {
        let ip = given.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = ip.parse().map_err(|_| {
            bad("not IP[:PORT] (such as 10.0.0.1, 10.0.0.1:3260 or [fd00::1]:3260)")
        })?;
        SocketAddr::new(ip, DEFAULT_PORT)
    };
    if addr.port() == 0 {
        return Err(bad("port 0 is not a port clients can connect to"));
    }
    if addr.ip().is_unspecified() || addr.ip().is_multicast() {
        return Err(bad("not an address clients can connect to"));
    }
    Ok(addr)
}

/// Checks a size asked for: a positive multiple of the block size.
pub(crate) fn check_size(size: u64) -> Result<(), OpsError> {
    if size == 0 {
        return Err(OpsError::input(
            "--size",
            0,
            "an export needs at least one block",
        ));
    }
    if size % u64::from(BLOCK_SIZE) != 0 {
        let why = format!("not a multiple of the {BLOCK_SIZE}-byte block size");
        return Err(OpsError::input("--size", size, why));
    }
    Ok(())
}

fn first_duplicate<T: PartialEq>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, a)| items[..*i].contains(a))
        .map(|(_, a)| a)
}

impl CreateRequest {
    /// Checks everything that can be checked without the volume.
    fn check(&self) -> Result<(), OpsError> {
        check_size(self.size)?;
        if self.gateways.is_empty() {
            return Err(OpsError::NoGateway);
        }
        if let Some(dup) = first_duplicate(&self.gateways) {
            return Err(OpsError::input("--gateway", dup, "given twice"));
        }
        for i in &self.initiators {
            InitiatorName::parse(i).map_err(|e| OpsError::input("--initiator", i, e))?;
        }
        if let Some(dup) = first_duplicate(&self.initiators) {
            return Err(OpsError::input("--initiator", dup, "given twice"));
        }
        if !(1..=MAX_HW_MAX_SECTORS).contains(&self.hw_max_sectors) {
            let why = format!("must be 1 to {MAX_HW_MAX_SECTORS} (512-byte sectors per command)");
            return Err(OpsError::input(
                "--hw-max-sectors",
                self.hw_max_sectors,
                why,
            ));
        }
        self.check_config_string()
    }

    /// The gateways' `user:glfs` config string for the image must fit the kernel.
    fn check_config_string(&self) -> Result<(), OpsError> {
        let image = layout::image(&self.location.name);
        let config = format!("glfs/{}/{}", self.location.volume, &image[1..]);
        if config.len() > DEV_CONFIG_MAX {
            let fixed = config.len() - self.location.name.as_str().len();
            return Err(OpsError::ConfigTooLong {
                len: config.len(),
                name_max: DEV_CONFIG_MAX.saturating_sub(fixed),
                config,
            });
        }
        DevConfig::parse(&config)
            .map(drop)
            .map_err(|e| OpsError::input("VOLUME@SERVER", &self.location.volume, e))
    }

    /// A new record for this request, with a new serial and new CHAP secrets.
    fn new_record(&self) -> Result<Record, OpsError> {
        let name = &self.location.name;
        let record = Record {
            version: RECORD_VERSION,
            name: name.to_string(),
            state: State::Creating,
            volume: self.location.volume.volume.clone(),
            servers: self.location.volume.servers.clone(),
            image: layout::image(name),
            size: self.size,
            block_size: BLOCK_SIZE,
            prealloc: self.prealloc,
            serial: random::uuid_v4().map_err(OpsError::Random)?,
            iqn: Record::iqn_for(name),
            lun: 0,
            gateways: self.gateways.clone(),
            initiators: self.initiators.clone(),
            chap: new_chap(self.chap, name.as_str())?,
            hw_max_sectors: self.hw_max_sectors,
            cmd_time_out: DEFAULT_CMD_TIME_OUT,
            generation: 1,
        };
        record.validate().map_err(|e| match e {
            RecordError::Field { field, reason } => OpsError::input("record field", field, reason),
            other => OpsError::input("record", name, other),
        })?;
        Ok(record)
    }

    /// The fields of `existing` that differ from this request.
    fn differences(&self, existing: &Record) -> Vec<Difference> {
        let mut found = Vec::new();
        let mut compare = |field, existing: String, asked: String| {
            if existing != asked {
                found.push(Difference {
                    field,
                    existing,
                    asked,
                });
            }
        };
        compare("size", existing.size.to_string(), self.size.to_string());
        let servers = self.location.volume.servers_joined();
        compare("servers", existing.servers.join("+"), servers);
        compare(
            "prealloc",
            existing.prealloc.to_string(),
            self.prealloc.to_string(),
        );
        compare(
            "gateways",
            joined(&existing.gateways),
            joined(&self.gateways),
        );
        let initiators = |list: &[String]| sorted_or_any(list);
        compare(
            "initiators",
            initiators(&existing.initiators),
            initiators(&self.initiators),
        );
        compare(
            "chap",
            ChapMode::of(existing).to_string(),
            self.chap.to_string(),
        );
        let hw = |n: u32| n.to_string();
        compare(
            "hw_max_sectors",
            hw(existing.hw_max_sectors),
            hw(self.hw_max_sectors),
        );
        found
    }

    /// The existing record, when it is the export this request asks for.
    fn adopt(&self, existing: Record) -> Result<Record, OpsError> {
        if existing.state == State::Deleting {
            return Err(OpsError::BeingDeleted {
                name: existing.name,
                volume: self.location.volume.to_string(),
            });
        }
        let differences = self.differences(&existing);
        if differences.is_empty() {
            return Ok(existing);
        }
        Err(OpsError::Exists {
            name: existing.name,
            volume: self.location.volume.to_string(),
            differences,
        })
    }
}

fn joined<T: ToString>(items: &[T]) -> String {
    let texts: Vec<String> = items.iter().map(ToString::to_string).collect();
    texts.join(",")
}

fn sorted_or_any(initiators: &[String]) -> String {
    if initiators.is_empty() {
        return "any".into();
    }
    let mut sorted = initiators.to_vec();
    sorted.sort();
    sorted.join(",")
}

fn new_chap(mode: ChapMode, name: &str) -> Result<Option<ChapRecord>, OpsError> {
    let pair = |user_base: &str| -> Result<ChapPair, OpsError> {
        Ok(ChapPair {
            user: random::user(user_base).map_err(OpsError::Random)?,
            secret: random::secret().map_err(OpsError::Random)?,
        })
    };
    let initiator = match mode {
        ChapMode::None => return Ok(None),
        ChapMode::OneWay | ChapMode::Mutual => pair(name)?,
    };
    let mut target = None;
    if mode == ChapMode::Mutual {
        let mut t = pair(&format!("{name}-target"))?;
        while t.secret == initiator.secret {
            t.secret = random::secret().map_err(OpsError::Random)?;
        }
        target = Some(t);
    }
    Ok(Some(ChapRecord { initiator, target }))
}

impl Ops<'_> {
    /// `export create`: see the module documentation. Run again after any failure (or a
    /// kill), it finishes what the first run began.
    pub fn create(&self, req: &CreateRequest) -> Result<CreateOutcome, OpsError> {
        req.check()?;
        let fresh = req.new_record()?;
        let found = Found {
            store: self.open(&req.location.volume)?,
            location: req.location.clone(),
        };
        let claimed = self.claim(&found, req, fresh)?;
        let record = self.finish_create(&found, req, claimed)?;
        self.observer.changed(&found.location);
        let gateways = self.await_gateways(&found, &record)?;
        Ok(CreateOutcome {
            location: found.location,
            record,
            gateways,
        })
    }

    /// The export's record: the one there (when it asked the same), or `fresh`, published.
    fn claim(&self, found: &Found, req: &CreateRequest, fresh: Record) -> Result<Record, OpsError> {
        if let Some(existing) = self.read_record(&*found.store, &found.location)? {
            let adopted = req.adopt(existing)?;
            self.observer.progress(&match adopted.state {
                State::Creating => format!("finishing the unfinished create of {}", adopted.name),
                _ => format!("export {} exists with the same settings", adopted.name),
            });
            return Ok(adopted);
        }
        self.check_room(found, req)?;
        let volume = &found.location.volume;
        found
            .store
            .ensure_folders()
            .map_err(OpsError::store(volume))?;
        if let Err(e) = found.store.sweep_tmp(TMP_AGE) {
            self.observer
                .progress(&format!("old temporary files left: {e}"));
        }
        let path = layout::record(&found.location.name);
        match found
            .store
            .publish(&path, &fresh.to_json(), layout::RECORD_MODE)
        {
            Ok(()) => {
                self.done(Step::CreateRecordPublished)?;
                Ok(fresh)
            }
            Err(StoreError::Exists { .. }) => req.adopt(self.existing_record(found)?),
            Err(e) => Err(OpsError::store(volume)(e)),
        }
    }

    /// Before a new record: no stray image of that name, and room for the image.
    fn check_room(&self, found: &Found, req: &CreateRequest) -> Result<(), OpsError> {
        let volume = &found.location.volume;
        let image = layout::image(&found.location.name);
        let store = &*found.store;
        if store
            .size_of(&image)
            .map_err(OpsError::store(volume))?
            .is_some()
        {
            // A create that won a race since the record was read made it: the publish
            // then finds its record.
            if self.read_record(store, &found.location)?.is_some() {
                return Ok(());
            }
            return Err(OpsError::OrphanImage {
                volume: volume.to_string(),
                image,
            });
        }
        let free = store.free_bytes().map_err(OpsError::store(volume))?;
        if req.size > free {
            return Err(OpsError::NoSpace {
                name: found.location.name.to_string(),
                volume: volume.to_string(),
                needed: req.size,
                free,
            });
        }
        Ok(())
    }

    /// From a `creating` record to a `ready` one with its image.
    fn finish_create(
        &self,
        found: &Found,
        req: &CreateRequest,
        mut record: Record,
    ) -> Result<Record, OpsError> {
        for _ in 0..RETRIES {
            match record.state {
                State::Ready => return self.check_image(found, &record).map(|()| record),
                State::Deleting => return req.adopt(record),
                State::Creating => {}
            }
            self.make_image(found, &record)?;
            let ready = Record {
                state: State::Ready,
                generation: record.generation + 1,
                ..record.clone()
            };
            match self.advance(found, &record, ready)? {
                Advanced::Done(ready) => {
                    self.done(Step::CreateReady)?;
                    return Ok(ready);
                }
                Advanced::Moved(current) => record = req.adopt(current)?,
            }
        }
        Err(OpsError::Raced {
            name: record.name.clone(),
        })
    }

    fn make_image(&self, found: &Found, record: &Record) -> Result<(), OpsError> {
        let grown = found
            .store
            .grow(
                &record.image,
                record.size,
                record.prealloc,
                layout::IMAGE_MODE,
            )
            .map_err(OpsError::store(&found.location.volume))?;
        self.observer
            .progress(&format!("image {}: {}", record.image, grown.describe()));
        self.done(Step::CreateImageMade)
    }

    /// A `ready` export's image is there, at least as large as the record says.
    pub(crate) fn check_image(&self, found: &Found, record: &Record) -> Result<(), OpsError> {
        let size = found
            .store
            .size_of(&record.image)
            .map_err(OpsError::store(&found.location.volume))?;
        match size {
            Some(n) if n >= record.size => Ok(()),
            found_size => Err(OpsError::ImageLost {
                name: record.name.clone(),
                state: record.state.to_string(),
                image: record.image.clone(),
                size: record.size,
                found: found_size,
            }),
        }
    }
}
