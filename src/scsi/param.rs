//! The parameter list a command carries in its data-out (UNMAP, EXTENDED COPY, MODE
//! SELECT, FORMAT UNIT), read whole before it is parsed.

#![forbid(unsafe_code)]

use super::DataOut;
use super::sense::Sense;

/// Copies the first `param_len` bytes of data-out; fewer than that is a PARAMETER
/// LIST LENGTH ERROR (the kernel sized the buffer from the same field).
pub fn read_param_list(data_out: &dyn DataOut, param_len: u32) -> Result<Vec<u8>, Sense> {
    let want = usize::try_from(param_len).unwrap_or(usize::MAX);
    if data_out.len() < want {
        return Err(Sense::parameter_list_length_error());
    }
    let mut buf = vec![0u8; want];
    match data_out.read_at(0, &mut buf) {
        n if n == want => Ok(buf),
        _ => Err(Sense::parameter_list_length_error()),
    }
}
