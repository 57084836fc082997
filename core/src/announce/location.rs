//! Where a peer sits: the `zone` and `rack` names Starling agents add to announces.
//!
//! Names are 1-63 characters of `A-Z a-z 0-9 . _ -` (the Kubernetes label value
//! alphabet, since agents take them from node topology labels), so they never need
//! percent-encoding. Standard trackers ignore the two parameters; the Starling tracker
//! prefers near peers in its hand-out.

use std::fmt;

const MAX_NAME_LEN: usize = 63;

/// Why a zone or rack name was rejected.
pub const NAME_RULE: &str = "must be 1-63 characters of A-Z a-z 0-9 . _ -";

macro_rules! location_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates decoded query bytes; `None` when they break [`NAME_RULE`].
            pub fn parse(bytes: &[u8]) -> Option<Self> {
                let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
                // Every accepted byte is ASCII, so the conversion cannot fail.
                let text = std::str::from_utf8(bytes).ok().filter(|_| valid)?;
                Some(Self(text.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }
    };
}

location_name!(
    /// An availability zone (failure domain spanning racks).
    Zone
);
location_name!(
    /// A rack inside a zone.
    Rack
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_label_alphabet() {
        assert_eq!(Zone::parse(b"us-east-1a").unwrap().as_str(), "us-east-1a");
        assert!(Rack::parse(b"r_1.b").is_some());
        assert!(Zone::parse(&[b'a'; 63]).is_some());
        for bad in [
            &b""[..],
            &[b'a'; 64],
            b"a b",
            b"a/b",
            b"\xff",
            "zoné".as_bytes(),
        ] {
            assert!(Zone::parse(bad).is_none(), "{bad:?}");
        }
    }
}
