//! Receiving several datagrams a call: [`RecvBatch`] and [`MulticastSocket::recv_batch`].

use std::vec;
use std::vec::Vec;

use super::{Datagram, Error, MulticastSocket, Received, Result};
use crate::addr::GroupAddr;

/// Buffers for up to `count` datagrams of up to `size` octets each, filled by
/// [`MulticastSocket::recv_batch`].
///
/// On Linux a batch is one `recvmmsg` system call: at a high datagram rate, the cost
/// of entering the kernel is shared by every datagram already queued. Elsewhere a
/// batch holds one datagram a call.
#[derive(Debug, Clone)]
pub struct RecvBatch {
    size: usize,
    bufs: Vec<u8>,
    /// What the OS returned, before the software checks.
    received: Vec<Received>,
    /// The datagrams kept, with the index of their buffer.
    kept: Vec<(Datagram, usize)>,
}

impl RecvBatch {
    /// The most datagrams a batch holds: more would not share the system call further.
    pub const MAX: usize = 64;

    /// Room for `count` datagrams (1 to [`RecvBatch::MAX`]) of `size` octets each (at
    /// least 1); a longer datagram is cut to `size`.
    pub fn new(count: usize, size: usize) -> RecvBatch {
        let (count, size) = (count.clamp(1, Self::MAX), size.max(1));
        RecvBatch {
            size,
            bufs: vec![0; count * size],
            received: Vec::with_capacity(count),
            kept: Vec::with_capacity(count),
        }
    }

    /// How many datagrams the last [`MulticastSocket::recv_batch`] kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether the batch holds no datagram.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The datagrams, in the order they were received, each with its payload.
    pub fn iter(&self) -> impl Iterator<Item = (&Datagram, &[u8])> {
        self.kept.iter().map(|(d, slot)| (d, &self.bufs[slot * self.size..][..d.len]))
    }
}

impl MulticastSocket {
    /// Waits for a datagram, as [`recv`](Self::recv) does (up to the read timeout),
    /// then takes every one already queued that fits `batch`; returns how many it
    /// kept. The software checks of `recv` apply to each: a batch whose datagrams were
    /// all dropped waits again.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> Result<usize> {
        loop {
            self.recv_raw_batch(batch).map_err(|e| Error::os(std::format!("receive on port {}", self.port), e))?;
            batch.kept.clear();
            for (slot, r) in batch.received.iter().enumerate() {
                if let Some(group) = r.destination.and_then(|d| GroupAddr::from_ipv4(d).ok())
                    && !self.accepts(group, *r.source.ip())
                {
                    continue;
                }
                if !self.loopback && self.is_local(*r.source.ip()) {
                    continue;
                }
                batch.kept.push((r.datagram(), slot));
            }
            if !batch.kept.is_empty() {
                return Ok(batch.kept.len());
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn recv_raw_batch(&self, batch: &mut RecvBatch) -> std::io::Result<()> {
        super::linux::mmsg::recv_batch(&self.socket, &mut batch.bufs, batch.size, &mut batch.received)
    }

    #[cfg(not(target_os = "linux"))]
    fn recv_raw_batch(&self, batch: &mut RecvBatch) -> std::io::Result<()> {
        batch.received.clear();
        let r = super::sys::recv(&self.socket, &self.sys, &mut batch.bufs[..batch.size])?;
        batch.received.push(r);
        Ok(())
    }
}
