//! The shared secret, kept out of logs and memory dumps.

use std::fmt;

use zeroize::Zeroizing;

/// A RADIUS shared secret (RFC 2865 §3): zeroized when dropped, never
/// printed (its `Debug` shows only its length).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// A secret of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// The bytes, for the codec's functions.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl From<&[u8]> for Secret {
    fn from(s: &[u8]) -> Self {
        Self::new(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, hidden)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(7 bytes, hidden)");
        assert_eq!(s.expose(), b"hunter2");
    }
}
