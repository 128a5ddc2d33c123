//! RESP2/RESP3 framing for ringkv: incremental request parsing with Redis's limits, and reply
//! encoding in either protocol version. No I/O and no command semantics live here.

pub mod frame;
pub mod request;

pub use frame::{Frame, ProtocolVersion};
pub use request::{string2ll, Limits, ProtocolError, RequestParser};
