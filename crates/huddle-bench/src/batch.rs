//! Batched UDP I/O with `sendmmsg`/`recvmmsg`: one system call moves up to
//! [`BATCH`] datagrams, so the load generator's core goes to the kernel's
//! packet work rather than to system call entry and exit.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use crate::offload;

pub const BATCH: usize = 64;
/// A coalesced receive is at most one IP datagram.
const SLOT: usize = 65_536;

/// Sends `packets` (at most [`BATCH`]) on a connected socket; returns how many
/// the kernel took. A full buffer (`EAGAIN`, `ENOBUFS`) counts as zero sent.
pub fn send_batch(socket: &UdpSocket, packets: &[&[u8]]) -> io::Result<usize> {
    let n = packets.len().min(BATCH);
    // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is valid.
    let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        iovs[i] = libc::iovec {
            iov_base: packets[i].as_ptr() as *mut libc::c_void,
            iov_len: packets[i].len(),
        };
        msgs[i].msg_hdr.msg_iov = &mut iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: every msg_iov points into `packets`, which outlives the call.
    let sent = unsafe { libc::sendmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
    if sent >= 0 {
        return Ok(sent as usize);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::ECONNREFUSED) => Ok(0),
        _ => Err(err),
    }
}

/// Reusable receive slots for [`RecvBatch::recv`]. On a socket with `UDP_GRO`
/// (see [`crate::offload`]) they split what the kernel coalesced back into
/// the datagrams the sender segmented.
pub struct RecvBatch {
    storage: Vec<u8>,
    /// (offset, length) in `storage` of each datagram of the last receive.
    datagrams: Vec<(usize, usize)>,
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            // Zeroed lazily by the allocator: only the pages used are resident.
            storage: vec![0; BATCH * SLOT],
            datagrams: Vec::with_capacity(BATCH * offload::MAX_SEGMENTS),
        }
    }
}

impl RecvBatch {
    /// Reads what is queued without waiting; returns the number of
    /// datagrams, coalesced ones counted one by one (zero when none).
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is valid.
        let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let mut controls = [offload::Control::default(); BATCH];
        let slots = self.storage.chunks_exact_mut(SLOT);
        for (((iov, msg), control), slot) in
            iovs.iter_mut().zip(&mut msgs).zip(&mut controls).zip(slots)
        {
            iov.iov_base = slot.as_mut_ptr().cast();
            iov.iov_len = SLOT;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
            msg.msg_hdr.msg_control = control.as_mut_ptr().cast();
            msg.msg_hdr.msg_controllen = std::mem::size_of::<offload::Control>() as _;
        }
        // SAFETY: every pointer in msgs points into iovs, controls or
        // self.storage, all alive and exclusively borrowed for the call.
        let got = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        self.datagrams.clear();
        if got < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ECONNREFUSED) => Ok(0),
                _ => Err(err),
            };
        }
        for (i, msg) in msgs[..got as usize].iter().enumerate() {
            let len = msg.msg_len as usize;
            let segment = offload::segment_size(&msg.msg_hdr).unwrap_or(len).max(1);
            let start = i * SLOT;
            self.datagrams.extend(
                (0..len)
                    .step_by(segment)
                    .map(|at| (start + at, segment.min(len - at))),
            );
        }
        Ok(self.datagrams.len())
    }

    /// The `i`th datagram of the last [`recv`](Self::recv).
    pub fn datagram(&self, i: usize) -> &[u8] {
        let (at, len) = self.datagrams[i];
        &self.storage[at..at + len]
    }
}
