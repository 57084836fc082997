//! CPU time used by this process (user + system, all threads) and by its reaped
//! children, so a benchmark can say how many cores the run kept busy and what a byte
//! cost: on a small machine an in-process cluster can be limited by the CPU instead of
//! the rate caps, and the figures must show which.

use std::time::Duration;

/// User plus system CPU time of this process so far.
pub fn process_cpu_time() -> std::io::Result<Duration> {
    rusage(libc::RUSAGE_SELF)
}

/// User plus system CPU time of the children this process has waited for (the pull
/// bench's agent, once stopped).
pub fn reaped_children_cpu_time() -> std::io::Result<Duration> {
    rusage(libc::RUSAGE_CHILDREN)
}

/// CPU seconds per GiB moved.
pub fn seconds_per_gib(cpu: Duration, bytes: u64) -> f64 {
    if bytes == 0 {
        return 0.0;
    }
    cpu.as_secs_f64() * f64::from(1u32 << 30) / bytes as f64
}

fn rusage(who: libc::c_int) -> std::io::Result<Duration> {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct passed, which we own.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

/// Average cores busy: CPU time over wall time.
pub fn cores_busy(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    cpu.as_secs_f64() / wall.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        let before = process_cpu_time().unwrap();
        let mut x = 0u64;
        let until = std::time::Instant::now() + Duration::from_millis(30);
        while std::time::Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_time().unwrap() > before);
        assert_eq!(
            cores_busy(Duration::from_secs(3), Duration::from_secs(2)),
            1.5
        );
        assert_eq!(cores_busy(Duration::from_secs(3), Duration::ZERO), 0.0);
    }

    #[test]
    fn reaped_children_count_once_waited_for() {
        let before = reaped_children_cpu_time().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(reaped_children_cpu_time().unwrap() > before);
        assert_eq!(seconds_per_gib(Duration::from_secs(3), 3 << 29), 2.0);
        assert_eq!(seconds_per_gib(Duration::from_secs(3), 0), 0.0);
    }
}
