//! [`Lio`]: converges configfs to the desired exports, touching only what the
//! ownership journal lists.

use super::backstore;
use super::error::{ApplyReport, Drift, LioError, RemoveReport};
use super::fs::{ConfigFs, StdFs};
use super::journal::Journal;
use super::layout::Layout;
use super::names::TargetIqn;
use super::ops::Ctx;
use super::spec::ExportLun;
use super::target;
use std::path::{Path, PathBuf};

/// Where the kernel mounts LIO's configfs tree.
pub const SYSTEM_ROOT: &str = "/sys/kernel/config/target";

/// The kernel's LIO configuration, as far as this daemon owns it.
///
/// Calls must not run concurrently (the daemon's loop makes them one at a time; the
/// `&mut self` of the changing calls says so). Nothing here blocks on this daemon
/// except the `enable` write of a new storage object, which waits until the handler
/// answered the kernel's ADDED event: call it from a thread other than the one serving
/// netlink.
#[derive(Debug)]
pub struct Lio<F: ConfigFs = StdFs> {
    fs: F,
    layout: Layout,
    journal: Journal,
}

/// An export the journal lists, with what of it exists in configfs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedExport {
    /// The export (and storage object) name.
    pub name: String,
    /// The HBA index `H` of `core/user_<H>/<name>`, if recorded.
    pub hba: Option<u32>,
    /// Whether that storage object exists.
    pub backstore_present: bool,
    /// The target IQN, if recorded.
    pub target: Option<String>,
    /// Whether that target exists.
    pub target_present: bool,
}

impl Lio<StdFs> {
    /// The real configfs tree ([`SYSTEM_ROOT`]), with the journal at `journal`
    /// (e.g. `/var/lib/gluster-tcmu/lio-owned.toml`).
    pub fn system(journal: impl Into<PathBuf>) -> Result<Self, LioError> {
        Self::open(StdFs, SYSTEM_ROOT, journal)
    }
}

impl<F: ConfigFs> Lio<F> {
    /// Works on the tree at `root` through `fs`, with the journal at `journal` (a
    /// missing file is an empty journal).
    pub fn open(
        fs: F,
        root: impl Into<PathBuf>,
        journal: impl Into<PathBuf>,
    ) -> Result<Self, LioError> {
        Ok(Self {
            fs,
            layout: Layout::new(root),
            journal: Journal::open(journal)?,
        })
    }

    /// The file-system implementation (tests inspect their fake through it).
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The target root.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// The ownership journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Converges configfs to `want`: creates what is missing in order (storage object,
    /// then target, TPG, portals, LUN, ACLs, CHAP, `enable`), rewrites what differs,
    /// removes portals, LUNs and ACLs of its target that `want` does not list, grows
    /// the storage object. Idempotent: a second call changes nothing.
    ///
    /// Refused before anything changes: an invalid `want`, a storage object or target
    /// of that name this daemon did not create ([`LioError::Foreign`]), a target
    /// another export owns, a smaller size than LIO has ([`LioError::Shrink`]).
    /// A failure after that leaves what was done in place (and journaled): the next
    /// call carries on from there.
    ///
    /// Moving the export to another target IQN removes the old target first.
    pub fn apply(&mut self, want: &ExportLun) -> Result<ApplyReport, LioError> {
        want.validate()?;
        let Self {
            fs,
            layout,
            journal,
        } = self;
        let mut ctx = Ctx::new(&*fs, &*layout);
        let plan = plan(&ctx, journal, want)?;
        let name = want.name.as_str();
        // First, so that its LUN no longer pins the storage object's serial.
        if let Some(old) = plan.old_target {
            target::remove(&mut ctx, &old)?;
            journal.set_target(name, None)?;
        }
        let device = match plan.device {
            Some(dir) => dir,
            None => backstore::create(&mut ctx, journal, name, plan.hba_hint)?.1,
        };
        let drift = storage_object(&mut ctx, &device, want)?;
        let iqn = want.target.as_str();
        if !ctx.exists(&ctx.layout.target(iqn)) {
            journal.set_target(name, Some(iqn))?;
            ctx.mkdir(&ctx.layout.target(iqn))?;
        }
        target::converge(&mut ctx, want, &device)?;
        let changes = ctx.changes;
        Ok(ApplyReport { changes, drift })
    }

    /// Removes everything of export `name` that the journal lists, in reverse order of
    /// creation (target and all in it, then the storage object and its HBA), and
    /// forgets it. Idempotent: what is already gone is skipped.
    ///
    /// It does not look at sessions: a caller that must not cut initiators off checks
    /// [`Self::sessions`] first.
    pub fn remove(&mut self, name: &str) -> Result<RemoveReport, LioError> {
        let Self {
            fs,
            layout,
            journal,
        } = self;
        let Some(owned) = journal.get(name).cloned() else {
            return Ok(RemoveReport::default());
        };
        let mut ctx = Ctx::new(&*fs, &*layout);
        if let Some(iqn) = &owned.target {
            target::remove(&mut ctx, iqn)?;
            journal.set_target(name, None)?;
        }
        if let Some(h) = owned.hba {
            backstore::remove(&mut ctx, journal, name, h)?;
        }
        Ok(RemoveReport {
            changes: ctx.changes,
        })
    }

    /// Every export the journal lists, with what of it exists now: the caller removes
    /// those it no longer wants (an entry with nothing present is a leftover of a crash
    /// before a `mkdir`; removing it just drops it from the journal).
    pub fn observe(&self) -> Result<Vec<OwnedExport>, LioError> {
        let ctx = Ctx::new(&self.fs, &self.layout);
        let entries = self.journal.exports().iter().map(|o| OwnedExport {
            name: o.name.clone(),
            hba: o.hba,
            backstore_present: o
                .hba
                .is_some_and(|h| ctx.exists(&self.layout.device(h, &o.name))),
            target: o.target.clone(),
            target_present: o
                .target
                .as_ref()
                .is_some_and(|t| ctx.exists(&self.layout.target(t))),
        });
        Ok(entries.collect())
    }

    /// The initiator names with a session on `target` (any target, owned or not; none
    /// if it does not exist).
    pub fn sessions(&self, target: &TargetIqn) -> Result<Vec<String>, LioError> {
        let ctx = Ctx::new(&self.fs, &self.layout);
        target::sessions(&ctx, target.as_str())
    }
}

/// Configures and enables a new storage object, or brings a live one towards `want`.
fn storage_object<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    device: &Path,
    want: &ExportLun,
) -> Result<Vec<Drift>, LioError> {
    let have = backstore::read_state(ctx, device)?;
    if !have.enabled {
        backstore::configure(ctx, device, want)?;
        return Ok(Vec::new());
    }
    let exported = target::links_device(ctx, want.target.as_str(), device)?;
    backstore::converge(ctx, device, &have, want, exported)
}

/// What `apply` found before changing anything.
struct Plan {
    /// Our storage object's directory, if it exists.
    device: Option<PathBuf>,
    /// The HBA index the journal holds for it.
    hba_hint: Option<u32>,
    /// A target the export owned under another IQN, to remove.
    old_target: Option<String>,
}

/// Reads the current state and refuses conflicts, changing nothing.
fn plan<F: ConfigFs>(
    ctx: &Ctx<'_, F>,
    journal: &Journal,
    want: &ExportLun,
) -> Result<Plan, LioError> {
    let name = want.name.as_str();
    let owned = journal.get(name);
    let hba_hint = owned.and_then(|o| o.hba);
    let mut device = None;
    for h in backstore::find(ctx, name)? {
        let path = ctx.layout.device(h, name);
        if Some(h) != hba_hint {
            return Err(LioError::Foreign { path });
        }
        device = Some(path);
    }
    if let Some(dir) = &device {
        let have = backstore::read_state(ctx, dir)?;
        if have.enabled && have.size > want.size {
            let (current, wanted) = (have.size, want.size);
            let name = name.to_owned();
            return Err(LioError::Shrink {
                name,
                current,
                wanted,
            });
        }
    }
    check_target(ctx, journal, want)?;
    let old_target = owned
        .and_then(|o| o.target.clone())
        .filter(|t| t != want.target.as_str());
    Ok(Plan {
        device,
        hba_hint,
        old_target,
    })
}

/// The target must be ours or absent.
fn check_target<F: ConfigFs>(
    ctx: &Ctx<'_, F>,
    journal: &Journal,
    want: &ExportLun,
) -> Result<(), LioError> {
    let iqn = want.target.as_str();
    match journal.target_owner(iqn) {
        Some(o) if o.name != want.name.as_str() => Err(LioError::TargetOfOtherExport {
            target: iqn.to_owned(),
            owner: o.name.clone(),
        }),
        None if ctx.exists(&ctx.layout.target(iqn)) => Err(LioError::Foreign {
            path: ctx.layout.target(iqn),
        }),
        _ => Ok(()),
    }
}
