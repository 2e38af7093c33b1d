//! The beat of a node's periodic work (the lease, the file sweep): one tick per period, a late tick
//! delayed rather than bunched with the next, and no tick once the server stops.

use std::time::Duration;

use tokio::{
    sync::watch,
    time::{interval, Interval, MissedTickBehavior},
};

pub struct Every {
    interval: Interval,
    stopped: watch::Receiver<bool>,
}

impl Every {
    pub fn new(period: Duration, stopped: watch::Receiver<bool>) -> Self {
        let mut interval = interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { interval, stopped }
    }

    /// Waits for the next tick: false once the server stops.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.interval.tick() => true,
            _ = self.stopped.changed() => false,
        }
    }
}
