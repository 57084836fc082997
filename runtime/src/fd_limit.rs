//! Raises the soft limit on open file descriptors to the hard limit at start, once per
//! process: the soft default (often 1024) is far below what a port serving thousands of
//! connections and uploads needs, and the hard limit is what the operator allowed.

use std::sync::Once;

/// The descriptor limits after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

static RAISE: Once = Once::new();

/// Sets `RLIMIT_NOFILE`'s soft limit to its hard limit and logs the result, the first
/// time it is called in the process; later calls do nothing and return `None`.
pub fn raise_fd_limit() -> Option<std::io::Result<FdLimit>> {
    let mut result = None;
    RAISE.call_once(|| {
        let raised = raise();
        match &raised {
            Ok(limit) => tracing::info!(
                before = limit.before,
                soft = limit.soft,
                hard = limit.hard,
                "open file limit"
            ),
            Err(error) => tracing::warn!(%error, "cannot raise the open file limit"),
        }
        result = Some(raised);
    });
    result
}

#[cfg(unix)]
fn raise() -> std::io::Result<FdLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit = raised;
    }
    // `rlim_t` is u64 on Linux but not on every unix.
    #[allow(clippy::unnecessary_cast)]
    Ok(FdLimit {
        before: before as u64,
        soft: limit.rlim_cur as u64,
        hard: limit.rlim_max as u64,
    })
}

#[cfg(not(unix))]
fn raise() -> std::io::Result<FdLimit> {
    Err(std::io::Error::other("no RLIMIT_NOFILE on this platform"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is u64 on Linux but not on every unix.
    fn the_soft_limit_reaches_the_hard_limit_once() {
        let mut lowered = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain getrlimit/setrlimit on our own structs.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lowered), 0);
            lowered.rlim_cur = lowered.rlim_max.min(256);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lowered), 0);
        }
        let limit = raise_fd_limit().expect("first call").unwrap();
        assert_eq!(limit.before, lowered.rlim_cur as u64);
        assert_eq!(limit.soft, limit.hard);
        assert_eq!(limit.hard, lowered.rlim_max as u64);
        assert!(raise_fd_limit().is_none(), "only the first call acts");
    }
}
