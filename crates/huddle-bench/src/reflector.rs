//! A calibration target: the cheapest possible STUN "server", one thread that
//! turns each batch of Binding requests into success responses in place and
//! sends them back with `recvmmsg`/`sendmmsg`, the answers to one socket in
//! one segmented send (`UDP_SEGMENT`, see [`crate::offload`]). Loading it with the STUN
//! generator shows how many responses/s the generator itself can drive.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::batch::BATCH;
use crate::{offload, sys};

const SLOT: usize = 64;

pub struct Reflector {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<Duration>>>,
}

impl Reflector {
    pub fn start(cpus: Vec<usize>) -> io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        sys::grow_recv_buffer(&socket, 4 << 20);
        let addr = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            sys::pin_to(&cpus)?;
            let cpu = sys::thread_cpu_time();
            while !flag.load(Ordering::Relaxed) {
                reflect_batch(&socket)?;
            }
            Ok(sys::thread_cpu_time() - cpu)
        });
        Ok(Reflector {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and returns the CPU time it used.
    pub fn stop(mut self) -> io::Result<Duration> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("stopped once");
        thread.join().expect("reflector panicked")
    }
}

fn reflect_batch(socket: &UdpSocket) -> io::Result<()> {
    let mut bufs = [[0u8; SLOT]; BATCH];
    // SAFETY: all-zero is valid for these C structs.
    let mut names: [libc::sockaddr_in; BATCH] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..BATCH {
        iovs[i] = libc::iovec {
            iov_base: bufs[i].as_mut_ptr() as *mut libc::c_void,
            iov_len: SLOT,
        };
        msgs[i].msg_hdr.msg_iov = &mut iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &mut names[i] as *mut _ as *mut libc::c_void;
        msgs[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
    }
    let fd = socket.as_raw_fd();
    // SAFETY: the headers point into the arrays above, alive for both calls.
    let got = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            BATCH as u32,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    if got <= 0 {
        return Ok(()); // timeout: look at the stop flag
    }
    let got = got as usize;
    for i in 0..got {
        iovs[i].iov_len = msgs[i].msg_len as usize;
        bufs[i][0] = 0x01; // Binding request 0x0001 becomes success 0x0101
    }
    // SAFETY: all-zero is valid for these C structs.
    let mut answers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    let mut controls = [offload::Control::default(); BATCH];
    let mut count = 0;
    let mut first = 0;
    while first < got {
        // A run of same-size requests from one socket is answered in one send.
        let same = |i: &usize| {
            same_addr(&names[*i], &names[first]) && iovs[*i].iov_len == iovs[first].iov_len
        };
        let end = (first + 1..got).find(|i| !same(i)).unwrap_or(got);
        let answer = &mut answers[count].msg_hdr;
        answer.msg_name = msgs[first].msg_hdr.msg_name;
        answer.msg_namelen = msgs[first].msg_hdr.msg_namelen;
        answer.msg_iov = &mut iovs[first];
        answer.msg_iovlen = end - first;
        if end - first > 1 {
            offload::set_segment_size(answer, &mut controls[count], iovs[first].iov_len);
        }
        count += 1;
        first = end;
    }
    // SAFETY: as above; names and lengths were filled in by recvmmsg.
    unsafe { libc::sendmmsg(fd, answers.as_mut_ptr(), count as u32, 0) };
    Ok(())
}

fn same_addr(a: &libc::sockaddr_in, b: &libc::sockaddr_in) -> bool {
    a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
}
