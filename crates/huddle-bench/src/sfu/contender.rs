//! A busy loop on the server's CPU (`--contend`): the kernel shares the CPU between it and the
//! SFU worker, so the worker gets about half of it, and the load of a call already running becomes
//! twice what it can carry. That is the overload target's load, made without a generator twice as
//! big (on a 2-core machine the generator has one core).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::sys;

pub struct Contender {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Contender {
    pub fn start(cpus: &[usize]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let cpus = cpus.to_vec();
        let thread = std::thread::spawn(move || {
            if let Err(e) = sys::pin_to(&cpus) {
                eprintln!("contender not pinned: {e}");
            }
            while !flag.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        Contender {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
