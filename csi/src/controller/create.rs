//! CreateVolume: a StorageClass's parameters and a capacity range become an export,
//! idempotently by request name: the same name and parameters give the same volume (a
//! range the existing size satisfies included); the same name asking otherwise gives
//! ALREADY_EXISTS naming what differs.

use super::{ControllerService, Range, clone};
use crate::caps;
use crate::chap;
use crate::context::{Chap, VolumeContext};
use crate::core::{
    ChapMode, ChapRecord, CreateRequest, ExportLocation, ExportName, ExportRef, Ops, OpsError,
    Record, wwid,
};
use crate::params::Params;
use crate::proto::{CreateVolumeRequest, CreateVolumeResponse, Volume};
use crate::status;
use crate::volume_id;
use tonic::Status;

/// A CreateVolume request, checked.
#[derive(Debug)]
struct Checked {
    location: ExportLocation,
    params: Params,
    range: Range,
    credentials: Option<ChapRecord>,
    /// The export to copy (`volume_content_source.volume`), on the same volume.
    clone_from: Option<ExportName>,
}

impl ControllerService {
    pub(super) async fn create(
        &self,
        req: CreateVolumeRequest,
    ) -> Result<CreateVolumeResponse, Status> {
        let checked = check(&req)?;
        let id = checked.location.to_string();
        let _held = self.inflight.enter(&id)?;
        tracing::info!("CreateVolume {} -> {id} ({})", req.name, checked.range);
        let params = checked.params.clone();
        let location = checked.location.clone();
        let record = self.backend.ops(move |ops| make(ops, &checked)).await?;
        Ok(CreateVolumeResponse {
            volume: Some(volume(&location, &record, &params)),
        })
    }
}

fn check(req: &CreateVolumeRequest) -> Result<Checked, Status> {
    if req.name.is_empty() {
        return Err(Status::invalid_argument("name is required"));
    }
    caps::check_all(&req.volume_capabilities)?;
    let params = Params::parse(&req.parameters)?;
    let clone_from = clone::source(req.volume_content_source.as_ref(), &params.volume)?;
    let range = Range::from_request(req.capacity_range.as_ref())?;
    range.size()?;
    let credentials = params
        .chap
        .then(|| chap::from_secrets(&req.secrets, "provisioner"))
        .transpose()?;
    let location = volume_id::for_request(&params.volume, &req.name)?;
    Ok(Checked {
        location,
        params,
        range,
        credentials,
        clone_from,
    })
}

/// Makes the export (or finishes or finds it), on a blocking thread.
fn make(ops: &Ops<'_>, c: &Checked) -> Result<Record, Status> {
    let at = ExportRef::At(c.location.clone());
    let size = match ops.record(&at) {
        Ok((_, existing)) if c.range.admits(existing.size) => existing.size,
        Ok((_, existing)) => {
            return Err(Status::already_exists(format!(
                "volume {} exists with {} bytes, outside the {} asked",
                c.location, existing.size, c.range
            )));
        }
        Err(OpsError::NotFound { .. }) => match &c.clone_from {
            Some(source) => clone::size(ops, &c.location, source, &c.range)?,
            None => c.range.size()?,
        },
        Err(e) => return Err(status::of(e)),
    };
    let mut req = CreateRequest::new(c.location.clone(), size, c.params.gateways.clone());
    req.prealloc = c.params.prealloc;
    req.hw_max_sectors = c.params.hw_max_sectors;
    req.clone_from = c.clone_from.clone();
    if let Some(credentials) = &c.credentials {
        req = req.with_chap_credentials(credentials.clone());
    }
    ops.create(&req).map(|out| out.record).map_err(status::of)
}

/// The CSI volume of an export.
fn volume(location: &ExportLocation, record: &Record, params: &Params) -> Volume {
    let context = VolumeContext {
        portals: record.gateways.clone(),
        iqn: record.iqn.clone(),
        lun: record.lun,
        wwid: wwid(&record.serial),
        fs_type: params.fs_type,
        chap: match ChapMode::of(record) {
            ChapMode::None => Chap::None,
            ChapMode::OneWay => Chap::OneWay,
            ChapMode::Mutual => Chap::Mutual,
        },
    };
    Volume {
        capacity_bytes: i64::try_from(record.size).unwrap_or(i64::MAX),
        volume_id: location.to_string(),
        volume_context: context.to_map(),
        content_source: record
            .clone_of
            .as_deref()
            .and_then(|source| clone::content_source(location, source)),
        accessible_topology: Vec::new(),
    }
}
