//! Time and usage calls (to pm): clock_gettime, clock_getres, clock_settime, gettimeofday, times,
//! getrusage.

use super::Sys;
use kernel_sim::Message;
use os::errno::Errno;
use os::proto::PM;
use os::proto::pm::*;

/// A time in seconds and nanoseconds (`struct timespec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds (below 1,000,000,000).
    pub nsec: i64,
}

impl Timespec {
    /// The time `us` microseconds after the Epoch (before it when negative).
    pub fn from_micros(us: i64) -> Timespec {
        Timespec { sec: us.div_euclid(1_000_000), nsec: us.rem_euclid(1_000_000) * 1_000 }
    }
}

/// What getrusage reports (the fields samsara keeps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// Signals delivered (pm's part).
    pub nsignals: u64,
    /// Resident memory in KiB (vm's part).
    pub rss_kb: u64,
    /// Text pages.
    pub text_pages: u64,
    /// Heap pages.
    pub heap_pages: u64,
    /// Stack pages.
    pub stack_pages: u64,
    /// Anonymously mapped pages.
    pub mmap_pages: u64,
}

impl Sys<'_> {
    /// The time of `clock` (CLOCK_REALTIME, CLOCK_MONOTONIC).
    pub fn clock_gettime(&self, clock: i32) -> Result<Timespec, Errno> {
        let r = self.call(PM, Message::with(PM_CLOCK_GETTIME, &ClockRequest { clock }))?.get::<TimespecPayload>();
        Ok(Timespec { sec: r.sec, nsec: r.nsec })
    }

    /// The resolution of `clock` (CLOCK_REALTIME, CLOCK_MONOTONIC).
    pub fn clock_getres(&self, clock: i32) -> Result<Timespec, Errno> {
        let r = self.call(PM, Message::with(PM_CLOCK_GETRES, &ClockRequest { clock }))?.get::<TimespecPayload>();
        Ok(Timespec { sec: r.sec, nsec: r.nsec })
    }

    /// Sets `clock` (only CLOCK_REALTIME, only as root).
    pub fn clock_settime(&self, clock: i32, time: Timespec) -> Result<(), Errno> {
        let request = TimespecPayload { clock, sec: time.sec, nsec: time.nsec };
        self.call(PM, Message::with(PM_CLOCK_SETTIME, &request)).map(drop)
    }

    /// CLOCK_REALTIME as seconds and microseconds.
    pub fn gettimeofday(&self) -> Result<(i64, i64), Errno> {
        let r = self.call(PM, Message::new(PM_GETTIMEOFDAY))?.get::<TimevalReply>();
        Ok((r.sec, r.usec))
    }

    /// Clock ticks since boot (CLOCK_TICKS_PER_SECOND a second).
    pub fn times(&self) -> Result<u64, Errno> {
        Ok(self.call(PM, Message::new(PM_TIMES))?.get::<TimesReply>().elapsed_ticks)
    }

    /// Resource usage of the caller (RUSAGE_SELF) or its waited-for children (RUSAGE_CHILDREN).
    pub fn getrusage(&self, who: i32) -> Result<Rusage, Errno> {
        let r = self.call(PM, Message::with(PM_GETRUSAGE, &RusageRequest { who }))?.get::<RusageReply>();
        Ok(Rusage {
            nsignals: r.nsignals,
            rss_kb: r.rss_kb,
            text_pages: r.text_pages,
            heap_pages: r.heap_pages,
            stack_pages: r.stack_pages,
            mmap_pages: r.mmap_pages,
        })
    }
}
