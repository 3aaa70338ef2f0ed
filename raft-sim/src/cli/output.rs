//! Standard output that a closed pipe or a full disk cannot turn into a panic: every write is
//! checked, and the first failure stops the command with [`Stop`].

use indicatif::ProgressBar;
use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

/// Why a command stops before its end.
#[derive(Debug)]
pub enum Stop {
    /// The reader went away (`raft-sim lab --trace | head`): exit quietly.
    BrokenPipe,
    /// Any other failure to write, with what was being written.
    Error(String),
    /// The command has seen enough (`--fail-fast` after a failure): not an error.
    Enough,
}

impl Stop {
    /// The stop for an I/O error met while doing `what`.
    pub fn io(what: &str, error: &io::Error) -> Stop {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Stop::BrokenPipe
        } else {
            Stop::Error(format!("{what}: {error}"))
        }
    }

    /// Says why (if it must) and gives the exit code: 141 for a closed pipe, as a shell
    /// reports a program killed by SIGPIPE; 1 for another write error.
    pub fn exit(self) -> ExitCode {
        match self {
            Stop::BrokenPipe => ExitCode::from(141),
            Stop::Enough => ExitCode::SUCCESS,
            Stop::Error(why) => {
                // Nothing more can be done if standard error is gone too.
                let _ = writeln!(io::stderr(), "error: {why}");
                ExitCode::from(1)
            }
        }
    }
}

/// Standard output, line by line, with a progress bar (on standard error) kept out of the way.
#[derive(Default)]
pub struct Out {
    bar: Option<ProgressBar>,
    /// Where lines go instead of standard output (tests).
    #[cfg(test)]
    capture: Option<std::rc::Rc<std::cell::RefCell<Vec<u8>>>>,
}

impl Out {
    /// An `Out` whose lines go to `buffer`, for tests.
    #[cfg(test)]
    pub fn capture(buffer: std::rc::Rc<std::cell::RefCell<Vec<u8>>>) -> Out {
        Out {
            bar: None,
            capture: Some(buffer),
        }
    }

    /// Writes one line and flushes it, so that it is seen at once even through a pipe.
    pub fn line(&self, text: impl Display) -> Result<(), Stop> {
        #[cfg(test)]
        if let Some(buffer) = &self.capture {
            writeln!(buffer.borrow_mut(), "{text}").expect("a Vec takes every write");
            return Ok(());
        }
        let write = || {
            let mut out = io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()
        };
        let written = match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        written.map_err(|e| Stop::io("writing to standard output", &e))
    }

    /// Shows `bar` below the lines written from now on (or stops showing one).
    pub fn set_progress(&mut self, bar: Option<ProgressBar>) {
        self.bar = bar;
    }

    /// The progress bar shown, if any.
    pub fn progress(&self) -> Option<&ProgressBar> {
        self.bar.as_ref()
    }
}
