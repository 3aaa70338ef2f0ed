//! A tiny single-threaded executor of virtual-time tasks.
//!
//! The lab's tests sleep, poll and run client goroutines. Here each of those is an `async`
//! task; `sleep` parks it until the simulator's clock reaches its deadline. Tasks run one at a
//! time, in the order they were woken, so a run is fully deterministic.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Owns the tasks and the queue of woken ones.
#[derive(Default)]
pub struct Executor {
    tasks: RefCell<BTreeMap<u64, Task>>,
    /// Spawned while another task was being polled; adopted before the next poll.
    spawned: RefCell<Vec<(u64, Task)>>,
    next_id: RefCell<u64>,
    ready: Arc<ReadyQueue>,
}

/// Woken task ids. `Waker` must be `Send + Sync`, hence the mutex, though only one thread
/// ever touches it.
#[derive(Default)]
struct ReadyQueue(Mutex<VecDeque<u64>>);

struct TaskWaker {
    id: u64,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready.0.lock().expect("ready queue").push_back(self.id);
    }
}

impl Executor {
    /// Starts `future` as a task; it is first polled at the next `run_ready`.
    pub fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        let slot = Rc::new(RefCell::new(JoinSlot {
            result: None,
            waiter: None,
        }));
        let filled = slot.clone();
        let task = async move {
            let value = future.await;
            let waiter = {
                let mut slot = filled.borrow_mut();
                slot.result = Some(value);
                slot.waiter.take()
            };
            if let Some(waker) = waiter {
                waker.wake();
            }
        };
        let id = {
            let mut next = self.next_id.borrow_mut();
            *next += 1;
            *next
        };
        self.spawned.borrow_mut().push((id, Box::pin(task)));
        self.ready.0.lock().expect("ready queue").push_back(id);
        JoinHandle { slot }
    }

    /// Polls woken tasks until none is ready. Returns how many polls were made.
    pub fn run_ready(&self) -> usize {
        let mut polls = 0;
        loop {
            let spawned: Vec<(u64, Task)> = self.spawned.borrow_mut().drain(..).collect();
            self.tasks.borrow_mut().extend(spawned);
            let Some(id) = self.ready.0.lock().expect("ready queue").pop_front() else {
                return polls;
            };
            // Take the task out while polling it, so it may spawn without re-borrowing.
            let Some(mut task) = self.tasks.borrow_mut().remove(&id) else {
                continue; // finished already, or a duplicate wake-up
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                ready: self.ready.clone(),
            }));
            polls += 1;
            if task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
            {
                self.tasks.borrow_mut().insert(id, task);
            }
        }
    }
}

struct JoinSlot<T> {
    result: Option<T>,
    waiter: Option<Waker>,
}

/// Resolves to the task's output when it finishes (like joining a goroutine's result).
pub struct JoinHandle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
}

impl<T> JoinHandle<T> {
    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.slot.borrow().result.is_some()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match slot.result.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Which of two raced futures finished first.
#[derive(Debug, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first.
    Left(A),
    /// The second.
    Right(B),
}

/// Waits for whichever of `a` and `b` finishes first (`a` wins a tie); the other is dropped
/// unfinished (a Go `select` over two channels).
pub fn race<A: Future + Unpin, B: Future + Unpin>(a: A, b: B) -> Race<A, B> {
    Race { a, b }
}

/// The future of [`race`].
pub struct Race<A, B> {
    a: A,
    b: B,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Race<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(a) = Pin::new(&mut self.a).poll(cx) {
            return Poll::Ready(Either::Left(a));
        }
        if let Poll::Ready(b) = Pin::new(&mut self.b).poll(cx) {
            return Poll::Ready(Either::Right(b));
        }
        Poll::Pending
    }
}
