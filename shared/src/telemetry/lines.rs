//! Where log lines go: standard error, one `write` per line, without the process-wide lock of
//! `std::io::stderr()`. That lock is held across the system call, so under load the runtime's
//! workers queued on it and slept and woke for every line (`bench/profile.sh`: 2.7 % of a
//! loaded server's time went to that lock's futex calls alone).
//!
//! A line of at most [`ATOMIC_LINE`] bytes goes out in one `write` on a duplicate of
//! descriptor 2: the kernel keeps such a write whole on a pipe, and on a regular file it
//! serialises writers on the file position, so lines from different threads never interleave.
//! A longer line takes a lock that excludes every other line while it is written in pieces.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd as _;
use std::sync::{PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

/// The size up to which a pipe keeps a write whole (`PIPE_BUF` on Linux).
pub(super) const ATOMIC_LINE: usize = 4096;

/// Standard error, for the log subscriber.
pub(super) struct Lines {
    /// A duplicate of descriptor 2; `None` when it cannot be duplicated (then `std`'s handle).
    file: Option<File>,
    /// Shared by every short line, exclusive for a long one.
    long: RwLock<()>,
}

impl Lines {
    pub(super) fn stderr() -> Self {
        let file = io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(File::from);
        Self::to(file)
    }

    pub(super) fn to(file: Option<File>) -> Self {
        Self {
            file,
            long: RwLock::new(()),
        }
    }

    fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let Some(mut file) = self.file.as_ref() else {
            return io::stderr().write_all(line);
        };
        if line.len() <= ATOMIC_LINE {
            let _short = self.long.read().unwrap_or_else(PoisonError::into_inner);
            file.write_all(line)
        } else {
            let _long = self.long.write().unwrap_or_else(PoisonError::into_inner);
            file.write_all(line)
        }
    }
}

/// One event's writer: the subscriber formats a line into its own buffer and hands it over
/// whole, with one `write_all`.
pub(super) struct Line<'a>(&'a Lines);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_line(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_line(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(self)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    /// Threads writing short and long lines at once into a pipe read in small pieces (so a long
    /// line's write is cut, as a slow log reader cuts it): every line arrives whole.
    #[test]
    fn concurrent_lines_arrive_whole() {
        let (mut reader, writer) = io::pipe().unwrap();
        let lines = std::sync::Arc::new(Lines::to(Some(File::from(std::os::fd::OwnedFd::from(
            writer,
        )))));
        let len = |t: u8| {
            if t.is_multiple_of(2) {
                100
            } else {
                5 * ATOMIC_LINE
            }
        };
        let drain = std::thread::spawn(move || {
            let mut written = Vec::new();
            let mut piece = [0u8; 512];
            loop {
                match reader.read(&mut piece).unwrap() {
                    0 => return written,
                    n => written.extend_from_slice(&piece[..n]),
                }
            }
        });
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    let mut line = vec![b'a' + t; len(t)];
                    line.push(b'\n');
                    for _ in 0..200 {
                        lines.make_writer().write_all(&line).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(lines);
        let written = String::from_utf8(drain.join().unwrap()).unwrap();
        let mut counts = [0; 4];
        for line in written.lines() {
            let first = line.as_bytes()[0];
            assert!(line.bytes().all(|b| b == first), "a mixed line");
            assert_eq!(line.len(), len(first - b'a'), "a cut line");
            counts[usize::from(first - b'a')] += 1;
        }
        assert_eq!(counts, [200; 4]);
    }
}
