//! UDP segmentation offload for the load generator, so that it costs less
//! CPU per datagram than the servers it loads and is no longer their limit:
//!
//! - sending, one `sendmsg` with `UDP_SEGMENT` carries up to
//!   [`MAX_SEGMENTS`] same-size datagrams. The servers' sockets do not ask for
//!   `UDP_GRO`, so the kernel hands them the same separate datagrams as
//!   before: the offered load does not change, only the generator's cost;
//! - receiving, sockets with `UDP_GRO` take a server's segmented send (if it
//!   sends that way) as one buffer, which [`crate::batch::RecvBatch`] splits
//!   again. Servers that send one datagram at a time are received as before.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::batch::send_batch;

/// Datagrams per segmented send; the kernel's limit is 64 on older releases.
pub const MAX_SEGMENTS: usize = 64;
/// Room for one `cmsghdr` and a `c_int` (`CMSG_SPACE(4)` is 24 on 64-bit Linux).
pub type Control = [u64; 4];

/// Cleared when the kernel refuses a segmented send; plain batches then.
static GSO_WORKS: AtomicBool = AtomicBool::new(true);

/// Asks the kernel to coalesce what a sender segmented (Linux 5.0+); false
/// when it cannot, and the socket then receives datagrams one by one.
pub fn enable_gro(socket: &UdpSocket) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads an int from a live local.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Attaches a `UDP_SEGMENT` control message of `size` to `msg`, stored in `control`.
pub fn set_segment_size(msg: &mut libc::msghdr, control: &mut Control, size: usize) {
    let space = std::mem::size_of_val(control);
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points to `space` writable bytes, enough for one
    // cmsghdr with a u16, so CMSG_FIRSTHDR is non-null and in bounds.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as _;
        libc::CMSG_DATA(cmsg)
            .cast::<u16>()
            .write_unaligned(size as u16);
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as _;
    }
}

/// Sends `packets` (all the length of the first, at most [`MAX_SEGMENTS`]) on
/// a connected socket in one segmented `sendmsg`; returns how many the kernel
/// took (all or, for a full buffer, none). Falls back to [`send_batch`] for a
/// single packet, other lengths, or a kernel that refuses segmentation.
pub fn send_segments(socket: &UdpSocket, packets: &[&[u8]]) -> io::Result<usize> {
    let size = packets.first().map_or(0, |p| p.len());
    let same_size = packets.iter().all(|p| p.len() == size);
    if packets.len() < 2 || !same_size || !GSO_WORKS.load(Ordering::Relaxed) {
        return send_batch(socket, packets);
    }
    let n = packets.len().min(MAX_SEGMENTS);
    // SAFETY: iovec and msghdr are plain C structs for which all-zero is valid.
    let mut iovs: [libc::iovec; MAX_SEGMENTS] = unsafe { std::mem::zeroed() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    for (iov, packet) in iovs.iter_mut().zip(&packets[..n]) {
        iov.iov_base = packet.as_ptr() as *mut libc::c_void;
        iov.iov_len = packet.len();
    }
    msg.msg_iov = iovs.as_mut_ptr();
    msg.msg_iovlen = n as _;
    let mut control = Control::default();
    set_segment_size(&mut msg, &mut control, size);
    // SAFETY: msg points into iovs, control and packets, alive for the call.
    if unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, 0) } >= 0 {
        return Ok(n);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::ECONNREFUSED) => Ok(0),
        Some(libc::EIO) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
            GSO_WORKS.store(false, Ordering::Relaxed);
            eprintln!("UDP segmentation refused ({err}): sending datagrams one by one");
            send_batch(socket, packets)
        }
        _ => Err(err),
    }
}

/// The segment size of a coalesced receive, from its `UDP_GRO` control message.
pub fn segment_size(msg: &libc::msghdr) -> Option<usize> {
    // SAFETY: the kernel filled msg_control up to msg_controllen; the CMSG
    // macros stay within it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == libc::UDP_GRO {
                let size = libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned();
                return usize::try_from(size).ok();
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RecvBatch;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        (a, b)
    }

    fn packets(count: u8, len: usize) -> Vec<Vec<u8>> {
        (0..count).map(|i| vec![i; len]).collect()
    }

    /// A receiver without `UDP_GRO` (as the servers) gets each datagram.
    #[test]
    fn segmented_send_arrives_as_separate_datagrams() {
        let (a, b) = pair();
        let sent = packets(10, 20);
        let refs: Vec<&[u8]> = sent.iter().map(|p| &p[..]).collect();
        assert_eq!(send_segments(&a, &refs).unwrap(), 10);
        let mut buf = [0u8; 2048];
        for p in &sent {
            let n = b.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &p[..]);
        }
    }

    /// With `UDP_GRO` the batch splits a coalesced receive into the datagrams sent.
    #[test]
    fn recv_batch_splits_what_was_coalesced() {
        let (a, b) = pair();
        assert!(enable_gro(&b));
        b.set_nonblocking(true).unwrap();
        let sent = packets(7, 100);
        let refs: Vec<&[u8]> = sent.iter().map(|p| &p[..]).collect();
        assert_eq!(send_segments(&a, &refs).unwrap(), 7);
        a.send(&[9; 33]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut batch = RecvBatch::default();
        assert_eq!(batch.recv(&b).unwrap(), 8);
        for (i, p) in sent.iter().enumerate() {
            assert_eq!(batch.datagram(i), &p[..]);
        }
        assert_eq!(batch.datagram(7), &[9; 33]);
    }
}
