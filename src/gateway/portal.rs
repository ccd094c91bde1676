//! Is the configured portal an address of this host? LIO refuses a portal on any other
//! address (`mkdir np/IP:PORT` fails with `EADDRNOTAVAIL`), so the gateway checks first
//! and says so in plain words instead of failing every export on a configfs error.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// Why the portal cannot be served here, in the words every export's error carries.
pub fn problem(portal: IpAddr) -> Option<String> {
    match UdpSocket::bind(SocketAddr::new(portal, 0)) {
        Ok(_) => None,
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => Some(format!(
            "portal IP {portal} is not an address of this host (check [exports] portal)"
        )),
        Err(e) => Some(format!("portal IP {portal} cannot be used here: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_ours_and_test_net_is_not() {
        assert_eq!(problem("127.0.0.1".parse().unwrap()), None);
        let not_ours = problem("192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(
            not_ours,
            "portal IP 192.0.2.1 is not an address of this host (check [exports] portal)"
        );
    }
}
