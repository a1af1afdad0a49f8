//! The embassy-time driver: time from the LAN9118's 25 MHz free-running counter, in
//! microseconds (embassy-time's `tick-hz-1_000_000`), and alarms checked by SysTick
//! every millisecond.
//!
//! The counter is 32 bits wide and wraps every 171 s; every reading extends it to 64
//! bits, and the SysTick interrupt reads it every millisecond, so no wrap goes unseen.
//! The timer queue is embassy-time-queue-utils' `Queue` (the executor's integrated one),
//! under a critical section.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

use crate::lan9118;

/// Counter cycles per microsecond.
const CYCLES_PER_TICK: u32 = lan9118::FREE_RUN_HZ / 1_000_000;
/// SysTick reload for 1 ms at the core's 25 MHz.
const SYSTICK_RELOAD: u32 = 25_000 - 1;

/// The extended counter.
#[derive(Clone, Copy)]
struct Clock {
    /// Whether the counter runs (the NIC is out of reset): time is 0 until then.
    started: bool,
    /// The counter's last reading.
    last: u32,
    /// Cycles read but not yet a whole tick.
    cycles: u32,
    /// Ticks (microseconds) since `start`.
    ticks: u64,
}

struct TimeDriver {
    clock: Mutex<Cell<Clock>>,
    queue: Mutex<RefCell<Queue>>,
    /// When the earliest waker is due (`u64::MAX`: none).
    alarm: Mutex<Cell<u64>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: TimeDriver = TimeDriver {
    clock: Mutex::new(Cell::new(Clock { started: false, last: 0, cycles: 0, ticks: 0 })),
    queue: Mutex::new(RefCell::new(Queue::new())),
    alarm: Mutex::new(Cell::new(u64::MAX)),
});

impl TimeDriver {
    fn now_cs(&self, cs: CriticalSection<'_>) -> u64 {
        let cell = self.clock.borrow(cs);
        let mut c = cell.get();
        if !c.started {
            return 0;
        }
        let raw = lan9118::free_running();
        let elapsed = raw.wrapping_sub(c.last);
        c.last = raw;
        // 32-bit divisions only: the Cortex-M3 has them in hardware.
        c.ticks += u64::from(elapsed / CYCLES_PER_TICK);
        c.cycles += elapsed % CYCLES_PER_TICK;
        if c.cycles >= CYCLES_PER_TICK {
            c.cycles -= CYCLES_PER_TICK;
            c.ticks += 1;
        }
        cell.set(c);
        c.ticks
    }

    /// Wakes the wakers that are due and notes when the next one is.
    fn check_alarm(&self, cs: CriticalSection<'_>) {
        let now = self.now_cs(cs);
        let alarm = self.alarm.borrow(cs);
        if now >= alarm.get() {
            alarm.set(self.queue.borrow(cs).borrow_mut().next_expiration(now));
        }
    }
}

impl Driver for TimeDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now_cs(cs))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow(cs).borrow_mut();
            if queue.schedule_wake(at, waker) {
                let next = queue.next_expiration(self.now_cs(cs));
                self.alarm.borrow(cs).set(next);
            }
        });
    }
}

/// Starts the clock (at 0) and SysTick. Call once the LAN9118 is out of reset, which
/// restarts its counter.
pub fn start(mut syst: SYST) {
    critical_section::with(|cs| {
        let raw = lan9118::free_running();
        DRIVER.clock.borrow(cs).set(Clock { started: true, last: raw, cycles: 0, ticks: 0 });
    });
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSTICK_RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| DRIVER.check_alarm(cs));
}
