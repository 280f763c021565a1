//! SIGINT and SIGTERM as a flag that apply checks between steps: the steps in
//! flight finish, no new one starts, the lock is released. A second signal
//! exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    raised: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// A flag that only [`Interrupt::raise`] raises (for tests and callers without signals).
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// A flag raised by the first SIGINT or SIGTERM. Must be called inside the runtime.
    pub fn on_signals() -> std::io::Result<Interrupt> {
        let interrupt = Interrupt::new();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let flag = interrupt.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("interrupted: finishing the steps in flight (interrupt again to exit now)");
            flag.raise();
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("interrupted again: exiting now; run deckhand again to converge");
            std::process::exit(1);
        });
        Ok(interrupt)
    }

    pub fn raise(&self) {
        self.inner.raised.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.inner.raised.load(Ordering::SeqCst)
    }

    /// Resolves once the flag is raised.
    pub async fn raised(&self) {
        loop {
            // Registered before the check, so a raise in between still wakes us.
            let notified = self.inner.notify.notified();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn raised_resolves_for_waiters_before_and_after_the_raise() {
        let interrupt = Interrupt::new();
        assert!(!interrupt.is_raised());
        let waiter = tokio::spawn({
            let i = interrupt.clone();
            async move { i.raised().await }
        });
        tokio::task::yield_now().await;
        interrupt.raise();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("the waiter wakes")
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), interrupt.raised())
            .await
            .expect("a late waiter returns at once");
    }
}
