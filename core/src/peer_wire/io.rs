//! Connection setup: exchanging handshakes over async I/O, then framing messages.
//!
//! Two ways to get from a fresh stream to a `Framed<_, MessageCodec>`, both of which
//! keep every byte the peer sent after its handshake:
//!
//! - [`read_handshake`] / [`write_handshake`] on the raw stream, then
//!   `Framed::new(stream, MessageCodec::default())`. `read_handshake` reads exactly 68
//!   bytes (`read_exact` into a fixed buffer), so nothing past the handshake is consumed.
//!   Do not put a `BufReader` in front of the stream unless it goes into the `Framed` too.
//! - `Framed::new(stream, HandshakeCodec)`, then [`into_message_framed`]. A `Framed`
//!   reads ahead, so its read buffer may already hold the first messages (a peer often
//!   sends its handshake and bitfield in one segment); `into_message_framed` moves that
//!   buffer, and any unflushed writes, into the new `Framed`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Framed;

use super::codec::MessageCodec;
use super::handshake::{
    HANDSHAKE_LEN, Handshake, HandshakeCodec, PROTOCOL_PREFIX_LEN, check_protocol_prefix,
};
use crate::error::Result;

/// Writes Starling's handshake (reserved bytes zero) and flushes it.
pub async fn write_handshake<W>(io: &mut W, handshake: &Handshake) -> Result<()>
where
    W: AsyncWrite + Unpin,
{
    io.write_all(&handshake.to_bytes()).await?;
    io.flush().await?;
    Ok(())
}

/// Reads exactly one handshake and nothing more. A peer that does not speak BitTorrent
/// fails with `BadHandshake` after 20 bytes, without waiting for the other 48.
pub async fn read_handshake<R>(io: &mut R) -> Result<Handshake>
where
    R: AsyncRead + Unpin,
{
    let mut bytes = [0u8; HANDSHAKE_LEN];
    io.read_exact(&mut bytes[..PROTOCOL_PREFIX_LEN]).await?;
    check_protocol_prefix(&bytes)?;
    io.read_exact(&mut bytes[PROTOCOL_PREFIX_LEN..]).await?;
    Handshake::from_bytes(&bytes)
}

/// Switches a connection from handshake to message framing, carrying over the read
/// buffer (bytes already received past the handshake) and the write buffer.
pub fn into_message_framed<T>(
    framed: Framed<T, HandshakeCodec>,
    codec: MessageCodec,
) -> Framed<T, MessageCodec> {
    framed.map_codec(|_| codec)
}

#[cfg(test)]
mod tests {
    use futures::{SinkExt, StreamExt};
    use tokio::io::duplex;

    use super::*;
    use crate::error::Error;
    use crate::info_hash::InfoHash;
    use crate::peer_id::PeerId;
    use crate::peer_wire::test_support::every_message;

    fn handshake() -> Handshake {
        Handshake::new(InfoHash::from_bytes([7; 20]), PeerId::generate())
    }

    #[tokio::test]
    async fn messages_round_trip_through_framed_duplex() {
        let (a, b) = duplex(64);
        let mut tx = Framed::new(a, MessageCodec::default());
        let mut rx = Framed::new(b, MessageCodec::default());
        let sent = every_message();
        let expected = sent.clone();
        let writer = tokio::spawn(async move {
            for msg in sent {
                tx.send(msg).await.unwrap();
            }
        });
        for want in expected {
            assert_eq!(rx.next().await.unwrap().unwrap(), want);
        }
        writer.await.unwrap();
        assert!(
            rx.next().await.is_none(),
            "stream ends cleanly after the writer drops"
        );
    }

    #[tokio::test]
    async fn switching_codecs_keeps_bytes_read_past_the_handshake() {
        let (mut a, b) = duplex(4096);
        let ours = handshake();
        let mut burst = ours.to_bytes().to_vec();
        let mut tail = bytes::BytesMut::new();
        for msg in every_message() {
            tokio_util::codec::Encoder::encode(&mut MessageCodec::default(), msg, &mut tail)
                .unwrap();
        }
        burst.extend_from_slice(&tail);
        // One write: the handshake Framed reads the messages into its buffer with it.
        a.write_all(&burst).await.unwrap();
        drop(a);

        let mut framed = Framed::new(b, HandshakeCodec);
        assert_eq!(framed.next().await.unwrap().unwrap(), ours);
        assert!(
            !framed.read_buffer().is_empty(),
            "the test needs read-ahead"
        );
        let framed = into_message_framed(framed, MessageCodec::default());
        let got: Vec<_> = framed.map(|m| m.unwrap()).collect().await;
        assert_eq!(got, every_message());
    }

    #[tokio::test]
    async fn helpers_exchange_handshakes_and_leave_messages_unread() {
        // Room for the handshake and the message, so both writes finish before reading.
        let (mut a, mut b) = duplex(4096);
        let ours = handshake();
        write_handshake(&mut a, &ours).await.unwrap();
        let mut tx = Framed::new(a, MessageCodec::default());
        tx.send(every_message()[5].clone()).await.unwrap();

        assert_eq!(read_handshake(&mut b).await.unwrap(), ours);
        let mut rx = Framed::new(b, MessageCodec::default());
        assert_eq!(rx.next().await.unwrap().unwrap(), every_message()[5]);
    }

    #[tokio::test]
    async fn a_non_bittorrent_peer_fails_after_20_bytes() {
        let (mut a, mut b) = duplex(64);
        // The writer stays open: read_handshake must not wait for 68 bytes.
        a.write_all(b"GET /announce HTTP/1").await.unwrap();
        let err = read_handshake(&mut b).await.unwrap_err();
        assert!(matches!(err, Error::BadHandshake { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_handshake_cut_short_is_an_io_error() {
        let (mut a, mut b) = duplex(64);
        a.write_all(&handshake().to_bytes()[..40]).await.unwrap();
        drop(a);
        let err = read_handshake(&mut b).await.unwrap_err();
        assert!(matches!(err, Error::Io(ref e) if e.kind() == std::io::ErrorKind::UnexpectedEof));
    }

    #[tokio::test]
    async fn a_frame_cut_short_ends_the_framed_stream_with_an_error() {
        let (mut a, b) = duplex(64);
        a.write_all(&[0, 0, 0, 5, 4, 0, 0]).await.unwrap();
        drop(a);
        let mut rx = Framed::new(b, MessageCodec::default());
        let err = rx.next().await.unwrap().unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err:?}");
        assert!(rx.next().await.is_none());
    }
}
