//! Reading a process's CPU time and memory from `/proc` (Linux).

use std::fs;

/// CPU time and memory of one process at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcSample {
    /// utime + stime, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size now, in KiB.
    pub rss_kib: u64,
    /// Peak resident set size so far (VmHWM), in KiB.
    pub hwm_kib: u64,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// Samples `/proc/<pid>/stat` and `/proc/<pid>/status`; `None` when the process is gone.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(ProcSample { cpu_seconds: (utime + stime) / clock_ticks(), rss_kib: kib("VmRSS:"), hwm_kib: kib("VmHWM:") })
}

/// The sum of [`sample`] over `pids` (peaks summed too: no less than the processes' joint peak); the
/// processes that are gone count nothing.
pub fn sample_all(pids: &[u32]) -> ProcSample {
    pids.iter().filter_map(|&pid| sample(pid)).fold(ProcSample::default(), |sum, s| ProcSample {
        cpu_seconds: sum.cpu_seconds + s.cpu_seconds,
        rss_kib: sum.rss_kib + s.rss_kib,
        hwm_kib: sum.hwm_kib + s.hwm_kib,
    })
}

/// Whole-machine CPU time from `/proc/stat`: (busy, total) jiffies summed over all CPUs.
pub fn machine_cpu() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

/// Number of CPUs the machine has.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns the new
/// soft limit.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        #[allow(clippy::unnecessary_cast)]
        let soft = limit.rlim_cur as u64;
        soft
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn samples_this_process() {
        let s = super::sample(std::process::id()).expect("/proc");
        assert!(s.rss_kib > 0 && s.hwm_kib >= s.rss_kib);
        assert!(s.cpu_seconds >= 0.0);
    }
}
