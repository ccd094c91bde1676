//! What `export create` asks for, checked without the volume, and compared field by field
//! with an export that exists already.

use super::{Difference, OpsError};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::name::ExportName;
use crate::export::random;
use crate::export::record::{
    BLOCK_SIZE, ChapPair, ChapRecord, DEFAULT_CMD_TIME_OUT, DEFAULT_HW_MAX_SECTORS,
    HA_CMD_TIME_OUT, MAX_HW_MAX_SECTORS, RECORD_VERSION, Record, RecordError, State, is_multipath,
};
use crate::lio::{ChapSecret, ChapUser, DEV_CONFIG_MAX, DevConfig, InitiatorName};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The iSCSI port a gateway given without one listens on.
pub const DEFAULT_PORT: u16 = 3260;

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
        ChapMode::of_chap(record.chap.as_ref())
    }

    /// The mode of CHAP settings.
    fn of_chap(chap: Option<&ChapRecord>) -> ChapMode {
        match chap {
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
    /// CHAP credentials to use instead of generated ones (an admin's, as a Kubernetes
    /// Secret holds them); their mode must be `chap`. A repeated create then adopts an
    /// existing export only when it has these very credentials.
    pub credentials: Option<ChapRecord>,
    pub hw_max_sectors: u32,
    /// An export of the same volume whose image the new one starts as a copy of
    /// (`--clone-from`): it must be `ready`, no larger than `size`, and nobody logged in.
    pub clone_from: Option<ExportName>,
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
            credentials: None,
            hw_max_sectors: DEFAULT_HW_MAX_SECTORS,
            clone_from: None,
        }
    }

    /// The same request with CHAP credentials given instead of generated: one-way CHAP,
    /// or mutual when `credentials` has the target's pair.
    pub fn with_chap_credentials(self, credentials: ChapRecord) -> Self {
        let chap = match credentials.target {
            None => ChapMode::OneWay,
            Some(_) => ChapMode::Mutual,
        };
        CreateRequest {
            chap,
            credentials: Some(credentials),
            ..self
        }
    }
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
    pub(super) fn check(&self) -> Result<(), OpsError> {
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
        if self.clone_from.as_ref() == Some(&self.location.name) {
            let why = "an export cannot be a clone of itself";
            return Err(OpsError::input("--clone-from", &self.location.name, why));
        }
        self.check_credentials()?;
        self.check_config_string()
    }

    /// Given CHAP credentials: of the mode asked, each field as LIO takes it, and (mutual)
    /// two different secrets. No message shows a secret.
    fn check_credentials(&self) -> Result<(), OpsError> {
        let Some(given) = &self.credentials else {
            return Ok(());
        };
        let mode = ChapMode::of_chap(Some(given));
        if mode != self.chap {
            let why = format!("the credentials given are for {mode} CHAP");
            return Err(OpsError::input("--chap", self.chap, why));
        }
        for pair in std::iter::once(&given.initiator).chain(given.target.as_ref()) {
            ChapUser::parse(&pair.user).map_err(|e| OpsError::input("CHAP user", &pair.user, e))?;
            ChapSecret::parse(&pair.secret)
                .map_err(|e| OpsError::input("CHAP secret of", &pair.user, e))?;
        }
        if given
            .target
            .as_ref()
            .is_some_and(|t| t.secret == given.initiator.secret)
        {
            // RFC 3720 §8.2.1: the two directions must not share a secret.
            let why = "mutual CHAP needs two different secrets";
            return Err(OpsError::input(
                "CHAP secret of",
                &given.initiator.user,
                why,
            ));
        }
        Ok(())
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
    pub(super) fn new_record(&self) -> Result<Record, OpsError> {
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
            chap: match &self.credentials {
                Some(given) => Some(given.clone()),
                None => new_chap(self.chap, name.as_str())?,
            },
            hw_max_sectors: self.hw_max_sectors,
            cmd_time_out: if is_multipath(&self.gateways) {
                HA_CMD_TIME_OUT
            } else {
                DEFAULT_CMD_TIME_OUT
            },
            generation: 1,
            clone_of: self.clone_from.as_ref().map(ToString::to_string),
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
        let source = |s: Option<&str>| s.unwrap_or("none").to_owned();
        compare(
            "clone_of",
            source(existing.clone_of.as_deref()),
            source(self.clone_from.as_ref().map(ExportName::as_str)),
        );
        if let Some(given) = &self.credentials {
            found.extend(credential_differences(existing.chap.as_ref(), given));
        }
        found
    }

    /// The existing record, when it is the export this request asks for.
    pub(super) fn adopt(&self, existing: Record) -> Result<Record, OpsError> {
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

/// How an export's CHAP credentials differ from the ones given (names shown, secrets
/// never). A mode that differs is already a difference of its own.
fn credential_differences(existing: Option<&ChapRecord>, given: &ChapRecord) -> Vec<Difference> {
    let Some(existing) = existing else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let pairs = [
        (
            "chap_user",
            "chap_secret",
            Some(&existing.initiator),
            Some(&given.initiator),
        ),
        (
            "chap_target_user",
            "chap_target_secret",
            existing.target.as_ref(),
            given.target.as_ref(),
        ),
    ];
    for (user_field, secret_field, had, asked) in pairs {
        let (Some(had), Some(asked)) = (had, asked) else {
            continue;
        };
        if had.user != asked.user {
            found.push(Difference {
                field: user_field,
                existing: had.user.clone(),
                asked: asked.user.clone(),
            });
        }
        if had.secret != asked.secret {
            found.push(Difference {
                field: secret_field,
                existing: "set".into(),
                asked: "another".into(),
            });
        }
    }
    found
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
