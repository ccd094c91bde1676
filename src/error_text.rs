//! Errors as the admin reads them: one line holding the error and every cause, for
//! D-Bus replies and log lines.

#![forbid(unsafe_code)]

/// Joins an error and its sources into one line, for messages shown to the admin over
/// D-Bus, where only a string travels.
pub fn admin_message(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    msg
}
