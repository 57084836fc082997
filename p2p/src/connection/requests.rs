//! The block requests one connection has sent and not yet seen answered, with the time
//! each was sent, so that a peer that stops answering has its blocks re-requested from
//! others after the request timeout. Pure bookkeeping; `pipeline` bounds its size.

use std::time::{Duration, Instant};

use starling_core::peer_wire::{Block, BlockRequest};

/// Requests in flight on one connection, oldest first.
#[derive(Debug, Default)]
pub struct Outstanding {
    entries: Vec<(BlockRequest, Instant)>,
}

impl Outstanding {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes requested and not yet received.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|(r, _)| u64::from(r.length)).sum()
    }

    pub fn push(&mut self, request: BlockRequest, now: Instant) {
        self.entries.push((request, now));
    }

    /// Removes the request `block` answers; false if nothing matched (unsolicited,
    /// already cancelled, or timed out).
    pub fn answer(&mut self, block: &Block) -> bool {
        let answered = |r: &BlockRequest| {
            r.index == block.index
                && r.begin == block.begin
                && r.length as usize == block.data.len()
        };
        match self.entries.iter().position(|(r, _)| answered(r)) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes and returns every request (the peer choked us or is going away).
    pub fn take_all(&mut self) -> Vec<BlockRequest> {
        self.entries.drain(..).map(|(r, _)| r).collect()
    }

    /// Removes and returns the requests sent more than `timeout` before `now`.
    pub fn take_expired(&mut self, now: Instant, timeout: Duration) -> Vec<BlockRequest> {
        self.take_where(|_, sent| now.saturating_duration_since(sent) >= timeout)
    }

    /// Removes and returns the requests for which `drop` holds.
    pub fn take_where(
        &mut self,
        mut drop: impl FnMut(&BlockRequest, Instant) -> bool,
    ) -> Vec<BlockRequest> {
        let mut taken = Vec::new();
        self.entries.retain(|(r, sent)| {
            let take = drop(r, *sent);
            if take {
                taken.push(*r);
            }
            !take
        });
        taken
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn req(index: u32, begin: u32) -> BlockRequest {
        BlockRequest {
            index,
            begin,
            length: 4,
        }
    }

    #[test]
    fn answers_match_exactly_and_timeouts_take_the_old_ones() {
        let t0 = Instant::now();
        let mut out = Outstanding::default();
        out.push(req(1, 0), t0);
        out.push(req(1, 4), t0 + Duration::from_secs(5));
        out.push(req(2, 0), t0 + Duration::from_secs(9));
        let block = |index, begin, len: usize| Block {
            index,
            begin,
            data: Bytes::from(vec![0; len]),
        };
        assert!(!out.answer(&block(1, 4, 3)), "wrong length");
        assert!(!out.answer(&block(3, 0, 4)), "never asked");
        assert!(out.answer(&block(1, 4, 4)));
        assert!(!out.answer(&block(1, 4, 4)), "answered once only");
        let expired = out.take_expired(t0 + Duration::from_secs(10), Duration::from_secs(10));
        assert_eq!(expired, [req(1, 0)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out.take_all(), [req(2, 0)]);
        assert!(out.is_empty());
    }
}
