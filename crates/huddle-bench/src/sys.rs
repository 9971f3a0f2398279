//! The few Linux calls the bench needs beyond std: CPU pinning, descriptor
//! limits, per-thread CPU time and `poll`.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a bit array; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: CPU_SET only writes inside `set` for cpu < CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    set
}

/// Pins the calling thread (or, between fork and exec, the child) to `cpus`.
/// Only async-signal-safe calls, so it may run in `pre_exec`.
pub fn pin_to(cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    let set = cpu_set(cpus);
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the open-file limit to its hard maximum: 10,000 allocations need
/// 10,000 client sockets here and as many relay sockets in the server, which
/// inherits the limit.
pub fn raise_fd_limit() -> io::Result<u64> {
    // SAFETY: getrlimit/setrlimit on a valid, owned struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(lim.rlim_cur)
    }
}

/// CPU time the calling thread has used so far.
pub fn thread_cpu_time() -> Duration {
    // SAFETY: clock_gettime writes into an owned timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Time the calling thread has been running or runnable (waiting in the run
/// queue for a CPU), from `/proc/thread-self/schedstat`. Wall time minus this
/// is time it was blocked, e.g. waiting for the server's answers.
pub fn thread_busy_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = stat
        .split_whitespace()
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// Sleeps with 1 µs timer slack instead of the default 50 µs, so the paced
/// sender's short sleeps are short.
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong) };
}

/// Waits up to `timeout` until some of `sockets` are readable; fills `ready`
/// with their indexes.
pub fn poll_readable(
    sockets: &[&UdpSocket],
    timeout: Duration,
    ready: &mut Vec<usize>,
) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid array of pollfd of the given length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    ready.clear();
    if rc < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(err)
        };
    }
    ready.extend(
        fds.iter()
            .enumerate()
            .filter(|(_, fd)| fd.revents != 0)
            .map(|(i, _)| i),
    );
    Ok(())
}

/// Asks for a big receive buffer (the kernel caps it at `rmem_max`), so the
/// bench's peers never drop what the server relayed.
pub fn grow_recv_buffer(socket: &UdpSocket, bytes: usize) {
    let value = bytes as libc::c_int;
    // SAFETY: setsockopt with a c_int option value on an owned socket.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// UDP datagrams the kernel dropped for full receive buffers in this network
/// namespace (`RcvbufErrors` in `/proc/net/snmp`); 0 if unreadable.
pub fn udp_rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Datagrams dropped so far by the UDP sockets bound to local `port`
/// (the last column of `/proc/net/udp`), to tell whose buffer overflowed.
pub fn udp_port_drops(port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| parse_udp_line(l, port))
        .sum()
}

fn parse_udp_line(line: &str, port: u16) -> Option<u64> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local_port = fields.get(1)?.rsplit_once(':')?.1;
    if u16::from_str_radix(local_port, 16).ok()? != port {
        return None;
    }
    fields.last()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_drops_of_a_port_from_proc_net_udp() {
        let line = "  12: 0100007F:0D96 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12345 2 0000000000000000 42";
        assert_eq!(parse_udp_line(line, 3478), Some(42));
        assert_eq!(parse_udp_line(line, 3479), None);
    }
}
