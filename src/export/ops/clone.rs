//! `export create --clone-from SOURCE`: the new export's image starts as a copy of the
//! image of another export on the same volume.
//!
//! Gluster snapshots whole volumes, not single files, so the copy is a plain read and
//! write of the source's blocks. It is only as consistent as the source is still: the
//! create refuses a source that any fresh gateway report shows an initiator logged in to
//! (one could be writing and the copy would be torn), and holds the source's lock, so no
//! other export command changes or deletes it meanwhile. Chunks that read as zeroes are
//! not written, so the copy is as sparse as the source.
//!
//! The record (`creating`, naming its source) is published before the image exists, as
//! for any create. The copy then runs under both exports' locks (taken in name order, so
//! two clones of each other cannot deadlock), into an image made afresh: a create cut
//! short during the copy and run again removes the half-copied image and copies again,
//! ending with the same bytes. The record says `ready` only once the copy is durable.

use super::gateways::read_reports;
use super::lock::Held;
use super::request::CreateRequest;
use super::{Found, Ops, OpsError, Step};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::name::ExportName;
use crate::export::record::{Record, State};
use crate::export::report::unix_now;
use crate::export::store::{ImageFile, StoreError};
use std::time::{Duration, Instant};

/// Bytes read and written per call.
const CHUNK: usize = 4 << 20;
/// How often a copy says again that it holds its locks (well within their stale age).
const LOCK_REFRESH: Duration = Duration::from_secs(15);

/// What a copy moved.
#[derive(Debug, Default)]
struct Copied {
    /// Bytes written.
    data: u64,
    /// Bytes that read as zeroes and were left as holes.
    holes: u64,
}

impl Ops<'_> {
    /// Before a new clone's record is published: its source can be copied now, so a
    /// refused clone leaves nothing behind.
    pub(super) fn check_clone_source(
        &self,
        found: &Found,
        req: &CreateRequest,
    ) -> Result<(), OpsError> {
        let Some(name) = &req.clone_from else {
            return Ok(());
        };
        let source = source_of(found, name);
        self.observer.refresh(&source.location);
        self.usable_source(&source, req.size).map(drop)
    }

    /// From a clone's `creating` record to a `ready` one whose image holds the source's
    /// bytes.
    pub(super) fn finish_clone(
        &self,
        found: &Found,
        req: &CreateRequest,
        record: Record,
    ) -> Result<Record, OpsError> {
        let name = source_name(&record)?;
        let source = source_of(found, &name);
        self.observer.refresh(&source.location);
        let held = self.lock_both(found, &source)?;
        // Under the locks: what the record is now (another create may have finished it).
        let record = req.adopt(self.existing_record(found)?)?;
        if record.state == State::Ready {
            return self.check_image(found, &record).map(|()| record);
        }
        let source_record = self.usable_source(&source, record.size)?;
        self.fresh_image(found, &record)?;
        self.copy_image(found, &source_record, &record, &held)?;
        let ready = Record {
            state: State::Ready,
            generation: record.generation + 1,
            ..record
        };
        let path = layout::record(&found.location.name);
        found
            .store
            .replace(&path, &ready.to_json(), layout::RECORD_MODE)
            .map_err(OpsError::store(&found.location.volume))?;
        self.done(Step::CreateReady)?;
        Ok(ready)
    }

    /// The source's record, when it is ready, no larger than `size`, its image whole,
    /// and no fresh gateway report shows an initiator logged in to it.
    fn usable_source(&self, source: &Found, size: u64) -> Result<Record, OpsError> {
        let from = source.location.name.to_string();
        let record = self
            .read_record(&*source.store, &source.location)?
            .ok_or_else(|| OpsError::SourceNotFound {
                from: from.clone(),
                volume: source.location.volume.to_string(),
            })?;
        if record.state != State::Ready {
            let state = record.state.to_string();
            return Err(OpsError::SourceNotReady { from, state });
        }
        if size < record.size {
            let (size, asked) = (record.size, size);
            return Err(OpsError::CloneTooSmall { from, size, asked });
        }
        let reports =
            read_reports(&*source.store).map_err(OpsError::store(&source.location.volume))?;
        let sessions = reports.sessions(&record.name, unix_now());
        if !sessions.is_empty() {
            return Err(OpsError::SourceInUse { from, sessions });
        }
        self.check_image(source, &record)?;
        Ok(record)
    }

    /// The locks of both exports, in the order of their names.
    fn lock_both<'f>(&self, a: &'f Found, b: &'f Found) -> Result<[Held<'f>; 2], OpsError> {
        let (first, second) = if a.location.name <= b.location.name {
            (a, b)
        } else {
            (b, a)
        };
        let first = self.lock(first)?;
        Ok([first, self.lock(second)?])
    }

    /// The clone's image, made empty: what a create cut short during the copy left is
    /// removed first (the record is `creating`, so no gateway serves it).
    fn fresh_image(&self, found: &Found, record: &Record) -> Result<(), OpsError> {
        let store = &*found.store;
        let err = OpsError::store(&found.location.volume);
        if store.size_of(&record.image).map_err(&err)?.is_some() {
            self.observer.progress(&format!(
                "copying again into {}: an earlier create was cut short",
                record.image
            ));
            store.remove(&record.image).map_err(&err)?;
        }
        self.make_image(found, record)
    }

    /// Copies the first `source.size` bytes of the source's image into the clone's,
    /// leaving chunks of zeroes as holes, and makes the copy durable.
    fn copy_image(
        &self,
        found: &Found,
        source: &Record,
        record: &Record,
        held: &[Held<'_>],
    ) -> Result<(), OpsError> {
        let err = OpsError::store(&found.location.volume);
        let from = found.store.open_image(&source.image).map_err(&err)?;
        let to = found.store.open_image(&record.image).map_err(&err)?;
        let start = Instant::now();
        let mut pace = Pace {
            refreshed: start,
            told: start,
        };
        let mut copied = Copied::default();
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0;
        while at < source.size {
            let len = usize::try_from(source.size - at).map_or(CHUNK, |left| left.min(CHUNK));
            let chunk = &mut buf[..len];
            read_full(&*from, chunk, at, &source.image).map_err(&err)?;
            if is_zero(chunk) {
                copied.holes += len as u64;
            } else {
                to.write_all_at(chunk, at).map_err(&err)?;
                copied.data += len as u64;
                if copied.data == len as u64 {
                    self.done(Step::CloneChunkCopied)?;
                }
            }
            at += len as u64;
            self.keep_going(&mut pace, held, source, at).map_err(&err)?;
        }
        to.sync().map_err(&err)?;
        self.observer.progress(&format!(
            "copied {} from {}: {} bytes of data, {} of zeroes left as holes, in {:.1} s",
            record.image,
            source.image,
            copied.data,
            copied.holes,
            start.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// Between chunks: the locks said alive again, and a progress line, when due.
    fn keep_going(
        &self,
        pace: &mut Pace,
        held: &[Held<'_>],
        source: &Record,
        at: u64,
    ) -> Result<(), StoreError> {
        if pace.refreshed.elapsed() >= LOCK_REFRESH {
            pace.refreshed = Instant::now();
            held.iter().try_for_each(Held::refresh)?;
        }
        if pace.told.elapsed() >= self.waits.progress_every {
            pace.told = Instant::now();
            let line = format!("copied {at} of {} bytes from {}", source.size, source.name);
            self.observer.progress(&line);
        }
        Ok(())
    }
}

/// When a copy last refreshed its locks and last said how far it is.
struct Pace {
    refreshed: Instant,
    told: Instant,
}

/// The export `name` on the volume of `found`.
fn source_of(found: &Found, name: &ExportName) -> Found {
    Found {
        location: ExportLocation {
            volume: found.location.volume.clone(),
            name: name.clone(),
        },
        store: found.store.clone(),
    }
}

/// The source a clone's record names (checked when the record was read).
fn source_name(record: &Record) -> Result<ExportName, OpsError> {
    let given = record.clone_of.as_deref().unwrap_or_default();
    ExportName::parse(given).map_err(|e| OpsError::input("clone_of", given, e))
}

/// Fills `buf` from `file` at `offset`; the file ending first is an error (the source's
/// image was checked to be as large as its record).
fn read_full(
    file: &dyn ImageFile,
    buf: &mut [u8],
    offset: u64,
    path: &str,
) -> Result<(), StoreError> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => {
                let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                return Err(StoreError::io("read", path, eof));
            }
            n => done += n,
        }
    }
    Ok(())
}

/// Every byte is zero.
fn is_zero(bytes: &[u8]) -> bool {
    // OR-folding a block at a time lets the compiler vectorise the inner loop.
    bytes
        .chunks(512)
        .all(|block| block.iter().fold(0u8, |acc, b| acc | b) == 0)
}
