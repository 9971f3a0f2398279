//! Batched UDP I/O for huddle's media servers (the TURN server's event loop, the SFU's
//! workers): one `recvmmsg` takes up to [`BATCH`] datagrams and one `sendmmsg` sends up to
//! [`BATCH`], so a burst costs a few system calls instead of one per packet. The sans-IO cores
//! stay unaware: their drivers feed them a batch, then flush everything it produced.
//!
//! On Linux a run of datagrams for one destination with one size (Binding answers to one client
//! socket, a burst relayed from one allocation to one peer, a video frame's packets to one
//! subscriber) goes out as one segmented send (`UDP_SEGMENT`, generic segmentation offload): the
//! kernel builds and routes one large datagram and cuts it into the same datagrams at the last
//! moment, in the NIC when it can. Receivers see exactly the datagrams they would have seen
//! otherwise. When the kernel refuses (`EIO`: a device without checksum offload), sending falls
//! back to one datagram per message for good.
//!
//! Also sizes socket buffers: a loop that pauses for a few milliseconds (another process on the
//! core, a burst of control messages) must not lose what arrives meanwhile.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Datagrams moved per system call.
pub const BATCH: usize = 32;
/// Any UDP datagram fits, so nothing is truncated.
const SLOT: usize = 65_536;

/// Raises the receive and send buffers of `socket` towards `bytes` and
/// returns the receive buffer granted.
pub fn set_buffers<S: std::os::fd::AsFd>(socket: &S, bytes: usize) -> io::Result<usize> {
    let socket = socket2::SockRef::from(socket);
    socket.set_recv_buffer_size(bytes)?;
    socket.set_send_buffer_size(bytes)?;
    socket.recv_buffer_size()
}

/// Receive slots reused for every batch.
pub struct Datagrams {
    storage: Vec<u8>,
    lens: [usize; BATCH],
    from: [Option<SocketAddr>; BATCH],
}

impl Default for Datagrams {
    fn default() -> Self {
        Self::new()
    }
}

impl Datagrams {
    pub fn new() -> Self {
        Datagrams {
            // Zeroed lazily by the allocator: only the pages datagrams touch are resident.
            storage: vec![0; BATCH * SLOT],
            lens: [0; BATCH],
            from: [None; BATCH],
        }
    }

    /// Takes what is queued on the non-blocking `socket`: the number of
    /// datagrams, or `WouldBlock`. Call it inside tokio's `try_io`, so that
    /// `WouldBlock` clears the readiness.
    pub fn recv(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
        sys::recv(socket.as_raw_fd(), self)
    }

    /// The `i`th datagram of the last [`recv`](Self::recv) and its sender
    /// (`None` for an address family we do not speak).
    pub fn get(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        (
            self.from[i],
            &self.storage[i * SLOT..i * SLOT + self.lens[i]],
        )
    }
}

/// Sends the first (up to [`BATCH`]) of `packets` on `socket`; how many went out. On a
/// non-blocking socket, `WouldBlock` when the send buffer is full (call it inside tokio's
/// `try_io`). An error other than that concerns the first packet, which the caller should then
/// skip.
pub fn send(socket: &impl AsRawFd, packets: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    sys::send(socket.as_raw_fd(), packets)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::{Datagrams, BATCH, SLOT};

    pub fn recv(fd: RawFd, into: &mut Datagrams) -> io::Result<usize> {
        // SAFETY: iovec, mmsghdr and sockaddr_storage are plain C structs for
        // which all-zero is a valid value.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let slots = into.storage.chunks_exact_mut(SLOT);
        for (((iov, msg), name), slot) in iovs.iter_mut().zip(&mut msgs).zip(&mut names).zip(slots)
        {
            iov.iov_base = slot.as_mut_ptr().cast();
            iov.iov_len = SLOT;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
            msg.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
            msg.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        }
        // SAFETY: every pointer in `msgs` points into `iovs`, `names` or
        // `into.storage`, all alive and exclusively borrowed for the call.
        let got = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        let got = got as usize;
        for i in 0..got {
            into.lens[i] = (msgs[i].msg_len as usize).min(SLOT);
            into.from[i] = socket_addr(&names[i]);
        }
        Ok(got)
    }

    /// Room for one `cmsghdr` and its `u16` (`CMSG_SPACE(2)` is 24 on 64-bit Linux).
    type Control = [u64; 4];
    /// Datagrams per segmented send: the kernel's limit on older releases.
    const MAX_SEGMENTS: usize = 64;
    /// Bytes per segmented send: it must fit in one IP datagram.
    const MAX_SEGMENTED_BYTES: usize = 65_000;
    /// Cleared when the kernel refuses segmentation with `EIO`.
    static SEGMENTATION: AtomicBool = AtomicBool::new(true);

    pub fn send(fd: RawFd, packets: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
        let segment = SEGMENTATION.load(Ordering::Relaxed);
        match send_runs(fd, packets, segment) {
            Err(SendError { error, segmented }) if segmented => {
                // EINVAL: segments larger than the path MTU; EIO: no checksum
                // offload on the device, which will not change.
                if error.raw_os_error() == Some(libc::EIO) {
                    SEGMENTATION.store(false, Ordering::Relaxed);
                    tracing::info!(
                        "UDP segmentation offload refused ({error}): sending datagrams one by one"
                    );
                }
                send_runs(fd, packets, false).map_err(|e| e.error)
            }
            result => result.map_err(|e| e.error),
        }
    }

    struct SendError {
        error: io::Error,
        /// The message that failed was a segmented one.
        segmented: bool,
    }

    /// One `sendmmsg` for up to [`BATCH`] packets; with `segment`, each run of
    /// packets with one destination and one length is one message.
    fn send_runs(
        fd: RawFd,
        packets: &[(SocketAddr, Vec<u8>)],
        segment: bool,
    ) -> Result<usize, SendError> {
        let n = packets.len().min(BATCH);
        // SAFETY: as in `recv`.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut controls = [Control::default(); BATCH];
        // Packets in each message.
        let mut runs = [0usize; BATCH];
        let mut messages = 0;
        let mut first = 0;
        while first < n {
            let end = if segment {
                run_end(&packets[..n], first)
            } else {
                first + 1
            };
            for (iov, (_, packet)) in iovs[first..end].iter_mut().zip(&packets[first..end]) {
                iov.iov_base = packet.as_ptr() as *mut libc::c_void;
                iov.iov_len = packet.len();
            }
            let msg = &mut msgs[messages].msg_hdr;
            msg.msg_iov = &mut iovs[first];
            msg.msg_iovlen = end - first;
            msg.msg_name = (&mut names[messages] as *mut libc::sockaddr_storage).cast();
            msg.msg_namelen = write_socket_addr(packets[first].0, &mut names[messages]);
            if end - first > 1 {
                set_segment_size(msg, &mut controls[messages], packets[first].1.len());
            }
            runs[messages] = end - first;
            messages += 1;
            first = end;
        }
        // SAFETY: every pointer in `msgs` points into `iovs`, `names`,
        // `controls` or `packets`, all alive for the call; the kernel only reads them.
        let sent = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), messages as u32, 0) };
        if sent < 0 {
            return Err(SendError {
                error: io::Error::last_os_error(),
                segmented: runs[0] > 1,
            });
        }
        Ok(runs[..sent as usize].iter().sum())
    }

    /// The end of the run starting at `first`: packets to the same
    /// destination, all of the first one's length, within the kernel's limits.
    fn run_end(packets: &[(SocketAddr, Vec<u8>)], first: usize) -> usize {
        let (to, packet) = &packets[first];
        let size = packet.len().max(1);
        let limit = MAX_SEGMENTS.min(MAX_SEGMENTED_BYTES / size).max(1);
        let same = |(next_to, next): &(SocketAddr, Vec<u8>)| next_to == to && next.len() == size;
        first
            + 1
            + packets[first + 1..]
                .iter()
                .take(limit - 1)
                .take_while(|p| same(p))
                .count()
    }

    /// Attaches a `UDP_SEGMENT` control message: the kernel cuts the
    /// message's payload into datagrams of `size` bytes.
    fn set_segment_size(msg: &mut libc::msghdr, control: &mut Control, size: usize) {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<Control>() as _;
        // SAFETY: msg_control points to a whole Control, room for one cmsghdr
        // and a u16, so CMSG_FIRSTHDR is non-null and its data in bounds.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(msg);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = libc::UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
            libc::CMSG_DATA(cmsg)
                .cast::<u16>()
                .write_unaligned(size as u16);
            msg.msg_controllen = libc::CMSG_SPACE(size_of::<u16>() as u32) as _;
        }
    }

    fn socket_addr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match name.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in, which fits in the storage.
                let a = unsafe {
                    &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6, which fits in the storage.
                let a = unsafe {
                    &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                let port = u16::from_be(a.sin6_port);
                Some(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id).into())
            }
            _ => None,
        }
    }

    fn write_socket_addr(addr: SocketAddr, name: &mut libc::sockaddr_storage) -> libc::socklen_t {
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                let out = unsafe {
                    &mut *(name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                out.sin_family = libc::AF_INET as libc::sa_family_t;
                out.sin_port = a.port().to_be();
                out.sin_addr.s_addr = u32::from(*a.ip()).to_be();
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                let out = unsafe {
                    &mut *(name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                out.sin6_port = a.port().to_be();
                out.sin6_flowinfo = a.flowinfo();
                out.sin6_addr.s6_addr = a.ip().octets();
                out.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }
}

/// Other Unix systems: one system call per datagram, same interface.
#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;
    use std::mem::ManuallyDrop;
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::{FromRawFd, RawFd};

    use super::{Datagrams, BATCH, SLOT};

    /// A borrowed view of the socket behind `fd`; never closes it.
    fn borrow(fd: RawFd) -> ManuallyDrop<UdpSocket> {
        // SAFETY: `fd` is an open UDP socket owned by the caller for the whole
        // call, and ManuallyDrop keeps this view from closing it.
        ManuallyDrop::new(unsafe { UdpSocket::from_raw_fd(fd) })
    }

    pub fn recv(fd: RawFd, into: &mut Datagrams) -> io::Result<usize> {
        let socket = borrow(fd);
        let mut got = 0;
        while got < BATCH {
            let slot = &mut into.storage[got * SLOT..(got + 1) * SLOT];
            match socket.recv_from(slot) {
                Ok((len, from)) => {
                    into.lens[got] = len;
                    into.from[got] = Some(from);
                    got += 1;
                }
                Err(e) if got == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(got)
    }

    pub fn send(fd: RawFd, packets: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
        let socket = borrow(fd);
        let mut sent = 0;
        for (to, packet) in packets.iter().take(BATCH) {
            match socket.send_to(packet, *to) {
                Ok(_) => sent += 1,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;

    fn receiver() -> (UdpSocket, SocketAddr) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        (socket, addr)
    }

    fn received(socket: &UdpSocket, count: usize) -> Vec<Vec<u8>> {
        let mut buf = [0u8; 4096];
        (0..count)
            .map(|_| {
                let len = socket.recv(&mut buf).unwrap();
                buf[..len].to_vec()
            })
            .collect()
    }

    /// Runs of one destination and size (sent segmented on Linux) and the
    /// packets between them all arrive as the datagrams queued, in order.
    #[test]
    fn every_packet_arrives_whole_and_in_order() {
        let (a, to_a) = receiver();
        let (b, to_b) = receiver();
        let packet = |i: u8, len: usize| (0..len).map(|k| i ^ k as u8).collect::<Vec<u8>>();
        let mut queued: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        queued.extend((0..5).map(|i| (to_a, packet(i, 80))));
        queued.extend((5..7).map(|i| (to_a, packet(i, 1000))));
        queued.extend((7..10).map(|i| (to_b, packet(i, 80))));
        queued.push((to_a, packet(10, 80)));
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut sent = 0;
        while sent < queued.len() {
            sent += send(&sender, &queued[sent..]).unwrap();
        }
        let expected = |to: SocketAddr| -> Vec<Vec<u8>> {
            queued
                .iter()
                .filter(|(d, _)| *d == to)
                .map(|(_, p)| p.clone())
                .collect()
        };
        assert_eq!(received(&a, 8), expected(to_a));
        assert_eq!(received(&b, 3), expected(to_b));
    }

    /// More same-size bytes than one segmented send may carry.
    #[test]
    fn a_long_run_is_split_within_the_limits() {
        let (a, to_a) = receiver();
        let queued: Vec<(SocketAddr, Vec<u8>)> =
            (0..BATCH as u8).map(|i| (to_a, vec![i; 3000])).collect();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut sent = 0;
        while sent < queued.len() {
            sent += send(&sender, &queued[sent..]).unwrap();
        }
        let got = received(&a, BATCH);
        assert!(got.iter().zip(&queued).all(|(g, (_, q))| g == q));
    }
}
