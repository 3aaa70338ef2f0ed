//! A run as a picture: one self-contained HTML page with a lane per server, showing over
//! virtual time its role and term, when it was down or cut off, its commit and applied
//! indexes, its snapshots and durable writes, the messages between servers (as arrows, once
//! zoomed in), and where the run failed and why.
//!
//! ```no_run
//! use raft_sim::{lab, runner, timeline::Recorder, trace::Trace, Edition};
//! use std::{cell::RefCell, rc::Rc};
//!
//! let recorder = Rc::new(RefCell::new(Recorder::new()));
//! let trace = Trace::new(false).with_sink(Box::new(Rc::clone(&recorder)));
//! let test = lab::find("TestFigure8Unreliable3C").unwrap();
//! runner::run_with(&test, Edition::Y2024, 7, trace);
//! let html = raft_sim::timeline::page(recorder.borrow().model());
//! std::fs::write("timeline.html", html).unwrap();
//! ```
//!
//! [`Recorder`] gathers a [`Model`] from the trace's events; [`page`] draws it. The page needs
//! no network: its style, picture, data and script are all inline.

mod model;
mod page;
mod record;
mod svg;

pub use model::{Arrow, Failure, Lane, Mark, Model, Span};
pub use page::{page, DEFAULT_WIDTH};
pub use record::Recorder;
pub use svg::{escape, Layout};
