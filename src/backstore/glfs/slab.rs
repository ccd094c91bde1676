//! What the glfs backstore keeps for each request in flight, indexed by the token
//! gfapi's callback carries back (the table itself is [`crate::slab::Slab`]).

/// What a request is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Read,
    Write,
    /// SYNCHRONIZE CACHE.
    Sync,
    Discard,
    Zero,
}

/// One request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GfapiRequest {
    /// The device's tag.
    pub tag: u64,
    pub kind: RequestKind,
    /// Bytes the request covers.
    pub expected: u64,
}

/// The requests in flight, under the token gfapi's callback carries back.
pub type RequestSlab = crate::slab::Slab<GfapiRequest>;
