//! `epoll` over the generator's many sockets: one wait tells which of
//! hundreds of UDP and WebSocket sockets have something to read.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

pub struct Epoll {
    fd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    pub fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes only flags.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            fd,
            events: Vec::with_capacity(1024),
        })
    }

    /// Watches `fd` for reading (level-triggered) under `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: a valid epoll fd, an open fd and an owned event struct.
        let rc = unsafe { libc::epoll_ctl(self.fd, libc::EPOLL_CTL_ADD, fd, &mut event) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` and fills `ready` with the tokens of readable fds.
    pub fn wait(&mut self, timeout: Duration, ready: &mut Vec<u64>) -> io::Result<()> {
        ready.clear();
        let ms = wait_millis(timeout);
        // SAFETY: the buffer has capacity for `capacity` events.
        let n = unsafe {
            libc::epoll_wait(
                self.fd,
                self.events.as_mut_ptr(),
                self.events.capacity() as i32,
                ms,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        // SAFETY: epoll_wait initialised the first n events.
        unsafe { self.events.set_len(n as usize) };
        ready.extend(self.events.iter().map(|e| e.u64));
        Ok(())
    }
}

/// `timeout` as epoll's whole milliseconds, rounded up: rounded down, a deadline under 1 ms away
/// becomes a wait of 0, and the caller spins until it passes (about half a core with two
/// subscribers). Waking up to 1 ms late is within the generator's own 2 ms sweep.
fn wait_millis(timeout: Duration) -> i32 {
    timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: our own fd, closed once.
        unsafe { libc::close(self.fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_milliseconds() {
        assert_eq!(wait_millis(Duration::ZERO), 0);
        assert_eq!(wait_millis(Duration::from_micros(1)), 1);
        assert_eq!(wait_millis(Duration::from_micros(999)), 1);
        assert_eq!(wait_millis(Duration::from_millis(1)), 1);
        assert_eq!(wait_millis(Duration::from_micros(1500)), 2);
        assert_eq!(wait_millis(Duration::MAX), i32::MAX);
    }
}
