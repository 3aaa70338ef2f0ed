//! Runs many independent items (a seed sweep) on worker threads and streams their results.
//!
//! - Items are generated lazily from an iterator, and at most [`WINDOW_PER_JOB`] × jobs
//!   results wait to be consumed, so memory stays flat for any number of items.
//! - Results are consumed on the calling thread in the items' order, whatever the number of
//!   threads, so a sweep prints the same lines with `--jobs 1` and `--jobs 8`.
//! - A panic in an item becomes that item's `Err`, not a hung or aborted sweep.
//! - The consumer can stop the sweep (a closed pipe, a full disk); workers then finish the
//!   item they hold and take no more.
//! - A progress bar counts consumed items when asked for; it draws on standard error and only
//!   on a terminal.
//! - [`Counts`] keeps the totals a summary needs (done, failed, the slowest item).
//!
//! A subcommand supplies the items, a closure that runs one, and a closure that prints and
//! counts each result (see `lab.rs`).

use super::output::{Out, Stop};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// How far (in items per worker) workers may run ahead of the oldest unconsumed result.
pub const WINDOW_PER_JOB: u64 = 16;

/// What a sweep counts as results stream in: items done, items failed, and the slowest item
/// (by wall-clock seconds) with what the caller keeps of it.
#[derive(Debug)]
pub struct Counts<S> {
    /// Items consumed.
    pub done: u64,
    /// Items that failed.
    pub failed: u64,
    /// The slowest item so far: its wall-clock seconds and the caller's record of it.
    pub slowest: Option<(f64, S)>,
}

impl<S> Default for Counts<S> {
    fn default() -> Self {
        Counts {
            done: 0,
            failed: 0,
            slowest: None,
        }
    }
}

impl<S> Counts<S> {
    /// Counts one item that took `wall` seconds; `record` is kept if it is the slowest yet.
    pub fn count(&mut self, failed: bool, wall: f64, record: S) {
        self.done += 1;
        self.failed += u64::from(failed);
        if self
            .slowest
            .as_ref()
            .is_none_or(|(slowest, _)| wall > *slowest)
        {
            self.slowest = Some((wall, record));
        }
    }

    /// Items that passed.
    pub fn passed(&self) -> u64 {
        self.done - self.failed
    }
}

/// How a sweep runs.
pub struct Options {
    /// Worker threads; with 1 every item runs on the calling thread.
    pub jobs: usize,
    /// The number of items, for a progress bar; `None` shows none.
    pub progress: Option<u64>,
}

/// What became of one item: its result, or the message of the panic it raised.
pub type ItemResult<R> = Result<R, String>;

/// Runs `work` on every item and hands each item with its result to `consume`, in the items'
/// order. Stops at the first `Err` from `consume` and returns it.
pub fn run<T, R, I, W, C>(
    items: I,
    options: Options,
    out: &mut Out,
    work: W,
    mut consume: C,
) -> Result<(), Stop>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    W: Fn(&T) -> R + Sync,
    C: FnMut(&Out, T, ItemResult<R>) -> Result<(), Stop>,
{
    let bar = options.progress.map(progress_bar);
    out.set_progress(bar.clone());
    let result = if options.jobs <= 1 {
        items.into_iter().try_for_each(|item| {
            let result = guarded(&work, &item);
            consume_one(out, &mut consume, item, result)
        })
    } else {
        run_parallel(items, options.jobs, out, &work, &mut consume)
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.set_progress(None);
    result
}

fn consume_one<T, R, C>(
    out: &Out,
    consume: &mut C,
    item: T,
    result: ItemResult<R>,
) -> Result<(), Stop>
where
    C: FnMut(&Out, T, ItemResult<R>) -> Result<(), Stop>,
{
    consume(out, item, result)?;
    if let Some(bar) = out.progress() {
        bar.inc(1);
    }
    Ok(())
}

/// Runs `work` on `item`, turning a panic into an `Err` with its message.
fn guarded<T, R>(work: &(impl Fn(&T) -> R + Sync), item: &T) -> ItemResult<R> {
    catch_unwind(AssertUnwindSafe(|| work(item))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// The items still to hand out, and how far the consumer got.
struct Feed<I> {
    items: I,
    next: u64,
    consumed: u64,
    stopped: bool,
}

fn run_parallel<T, R, I, W, C>(
    items: I,
    jobs: usize,
    out: &Out,
    work: &W,
    consume: &mut C,
) -> Result<(), Stop>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    W: Fn(&T) -> R + Sync,
    C: FnMut(&Out, T, ItemResult<R>) -> Result<(), Stop>,
{
    let window = WINDOW_PER_JOB * jobs as u64;
    let feed = Mutex::new(Feed {
        items,
        next: 0,
        consumed: 0,
        stopped: false,
    });
    let room = Condvar::new();
    let (sender, results) = mpsc::channel::<(u64, T, ItemResult<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (feed, room) = (&feed, &room);
            scope.spawn(move || {
                while let Some((k, item)) = take(feed, room, window) {
                    let result = guarded(work, &item);
                    if sender.send((k, item, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let outcome = consume_in_order(&results, out, consume, &feed, &room);
        stop(&feed, &room);
        outcome
    })
}

/// The next item and its number, waiting while the window is full; `None` when done.
fn take<I: Iterator>(feed: &Mutex<Feed<I>>, room: &Condvar, window: u64) -> Option<(u64, I::Item)> {
    let mut feed = feed.lock().expect("feed");
    while !feed.stopped && feed.next - feed.consumed >= window {
        feed = room.wait(feed).expect("feed");
    }
    if feed.stopped {
        return None;
    }
    let item = feed.items.next()?;
    let k = feed.next;
    feed.next += 1;
    Some((k, item))
}

fn stop<I>(feed: &Mutex<Feed<I>>, room: &Condvar) {
    feed.lock().expect("feed").stopped = true;
    room.notify_all();
}

/// Consumes results in item order, holding early ones until their turn.
fn consume_in_order<T, R, I, C>(
    results: &mpsc::Receiver<(u64, T, ItemResult<R>)>,
    out: &Out,
    consume: &mut C,
    feed: &Mutex<Feed<I>>,
    room: &Condvar,
) -> Result<(), Stop>
where
    C: FnMut(&Out, T, ItemResult<R>) -> Result<(), Stop>,
{
    let mut early = BTreeMap::new();
    let mut due = 0u64;
    for (k, item, result) in results {
        early.insert(k, (item, result));
        while let Some((item, result)) = early.remove(&due) {
            consume_one(out, consume, item, result)?;
            due += 1;
            feed.lock().expect("feed").consumed = due;
            room.notify_all();
        }
    }
    Ok(())
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len}, {elapsed} elapsed, ETA {eta} {msg}")
            .expect("a valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn options(jobs: usize) -> Options {
        Options {
            jobs,
            progress: None,
        }
    }

    #[test]
    fn results_come_in_item_order_whatever_the_thread_count() {
        for jobs in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            // Later items finish first: without reordering they would be consumed first.
            let work = |&k: &u64| {
                std::thread::sleep(std::time::Duration::from_micros((50 - k % 50) * 20));
                k * 10
            };
            run(
                0..200u64,
                options(jobs),
                &mut Out::default(),
                work,
                |_, k, r| {
                    seen.push((k, r.expect("no panic")));
                    Ok(())
                },
            )
            .expect("no stop");
            let expected: Vec<(u64, u64)> = (0..200).map(|k| (k, k * 10)).collect();
            assert_eq!(seen, expected, "jobs {jobs}");
        }
    }

    #[test]
    fn an_endless_sweep_streams_and_stops_when_the_consumer_says_so() {
        for jobs in [1, 4] {
            let started = AtomicU64::new(0);
            let mut consumed = 0;
            let result = run(
                0u64..,
                options(jobs),
                &mut Out::default(),
                |&k| {
                    started.fetch_add(1, Ordering::Relaxed);
                    k
                },
                |_, _, _| {
                    consumed += 1;
                    match consumed {
                        1000 => Err(Stop::Error("enough".into())),
                        _ => Ok(()),
                    }
                },
            );
            assert!(matches!(result, Err(Stop::Error(why)) if why == "enough"));
            // Workers run at most a window ahead of the consumer: memory stays flat.
            let ahead = started.load(Ordering::Relaxed) - consumed;
            assert!(
                ahead <= WINDOW_PER_JOB * jobs as u64 + jobs as u64,
                "{ahead} ahead"
            );
        }
    }

    #[test]
    fn a_panicking_item_is_an_err_and_the_sweep_goes_on() {
        for jobs in [1, 2] {
            let mut seen = Vec::new();
            let work = |&k: &u64| {
                assert!(k != 3, "item three is broken");
                k
            };
            run(
                0..6u64,
                options(jobs),
                &mut Out::default(),
                work,
                |_, k, r| {
                    seen.push((k, r.map_err(|why| why.contains("item three is broken"))));
                    Ok(())
                },
            )
            .expect("no stop");
            let expected: Vec<(u64, Result<u64, bool>)> = (0..6)
                .map(|k| (k, if k == 3 { Err(true) } else { Ok(k) }))
                .collect();
            assert_eq!(seen, expected, "jobs {jobs}");
        }
    }
}
