//! A list of networks written as CIDR ranges or bare addresses (`127.0.0.1` is
//! `127.0.0.1/32`), for `#[serde(with = "crate::nets")]` on a `Vec<IpNet>`. A bad entry
//! is reported by its value, with the line and column of the file.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One entry: a network, or an address taken as a host network.
struct Net(IpNet);

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map(Net).ok_or_else(|| {
            D::Error::custom(format!(
                "{text:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8)"
            ))
        })
    }
}

/// `10.0.0.0/8`, or an address as its host network.
pub fn parse(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    let list = Vec::<Net>::deserialize(deserializer)?;
    Ok(list.into_iter().map(|net| net.0).collect())
}

pub fn serialize<S: Serializer>(nets: &[IpNet], serializer: S) -> Result<S::Ok, S::Error> {
    nets.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_host_networks() {
        assert_eq!(parse("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse("10.0.0.0/33").is_none());
        assert!(parse("node-1").is_none());
    }
}
