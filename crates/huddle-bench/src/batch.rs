//! Batched UDP I/O with `sendmmsg`/`recvmmsg`: one system call moves up to
//! [`BATCH`] datagrams, so the load generator's core goes to the kernel's
//! packet work rather than to system call entry and exit.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

pub const BATCH: usize = 64;
/// Large enough for any STUN response or 1,000-byte ChannelData we expect.
const SLOT: usize = 2048;

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

/// Reusable receive slots for [`RecvBatch::recv`].
pub struct RecvBatch {
    storage: Vec<u8>,
    lens: [usize; BATCH],
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            storage: vec![0; BATCH * SLOT],
            lens: [0; BATCH],
        }
    }
}

impl RecvBatch {
    /// Reads what is queued without waiting; returns the number of datagrams
    /// (zero when nothing is queued).
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        // SAFETY: as in send_batch.
        let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, slot) in self.storage.chunks_exact_mut(SLOT).enumerate() {
            iovs[i] = libc::iovec {
                iov_base: slot.as_mut_ptr() as *mut libc::c_void,
                iov_len: SLOT,
            };
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let fd = socket.as_raw_fd();
        let flags = libc::MSG_DONTWAIT;
        // SAFETY: every msg_iov points into self.storage, borrowed mutably here.
        let got = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as u32,
                flags,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ECONNREFUSED) => Ok(0),
                _ => Err(err),
            };
        }
        let got = got as usize;
        for (len, msg) in self.lens.iter_mut().zip(&msgs[..got]) {
            *len = msg.msg_len as usize;
        }
        Ok(got)
    }

    /// The `i`th datagram of the last [`recv`](Self::recv).
    pub fn datagram(&self, i: usize) -> &[u8] {
        &self.storage[i * SLOT..i * SLOT + self.lens[i]]
    }
}
