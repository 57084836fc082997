//! The byte stream every backend reads and writes, and the few helpers around it.
//!
//! Bodies are streams of `Bytes` chunks so that a multi-gigabyte blob never has to sit in
//! memory; only small objects (tags, manifests) are ever collected, and always with a limit.

use bytes::{Bytes, BytesMut};
use futures::stream::{self, StreamExt};

/// A body on its way into or out of a backend (the core type, shared with the clients).
pub use starling_core::ByteStream;

/// A stream that yields `data` as a single chunk.
pub fn once(data: impl Into<Bytes>) -> ByteStream {
    stream::once(std::future::ready(Ok(data.into()))).boxed()
}

/// Reads a whole stream into memory, failing once it exceeds `limit` bytes.
pub async fn collect(mut body: ByteStream, limit: usize) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("body is larger than the limit of {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collect_joins_chunks_and_enforces_the_limit() {
        let chunks =
            || stream::iter([Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))]).boxed();
        assert_eq!(collect(chunks(), 4).await.unwrap(), "abcd");
        let err = collect(chunks(), 3).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(collect(once("xyz"), 3).await.unwrap(), "xyz");
    }
}
