//! The subcommands and what they share.

pub mod args;
pub mod diff;
pub mod lab;
pub mod output;
pub mod replay;
pub mod swarm;
pub mod sweep;

/// Wall-clock time, only ever reported: it never influences a run, so the workspace's ban on
/// clocks (clippy.toml) is lifted here and nowhere else.
#[allow(clippy::disallowed_types)]
pub struct WallClock(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl WallClock {
    /// Starts counting.
    pub fn start() -> WallClock {
        WallClock(std::time::Instant::now())
    }

    /// Seconds since `start`.
    pub fn elapsed_secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
