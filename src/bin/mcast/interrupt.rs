//! Ctrl-C and SIGTERM as a request to stop: the receiving subcommands finish their loop
//! and print their summary instead of dying with it.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C (SIGINT) or SIGTERM arrived since [`catch`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// From now on, SIGINT and SIGTERM (Windows: Ctrl-C and Ctrl-Break) set the flag that
/// [`requested`] reads instead of ending the process. A receive with a read timeout
/// returns an error when a signal arrives (SA_RESTART does not restart it): a loop
/// checks the flag then, and when its timeout wakes it.
#[cfg(unix)]
pub fn catch() {
    extern "C" fn on_signal(_: libc::c_int) {
        REQUESTED.store(true, Ordering::Relaxed);
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain old data for which all-zero bytes are valid; the
        // handler only stores to an atomic, which is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(sig, &raw const action, core::ptr::null_mut());
        }
    }
}

/// See the Unix version.
#[cfg(windows)]
pub fn catch() {
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
    unsafe extern "system" fn on_ctrl(event: u32) -> i32 {
        if event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT {
            REQUESTED.store(true, Ordering::Relaxed);
            return 1;
        }
        0
    }
    // SAFETY: registers a handler that only stores to an atomic.
    #[allow(unsafe_code)]
    unsafe {
        SetConsoleCtrlHandler(Some(on_ctrl), 1);
    }
}
