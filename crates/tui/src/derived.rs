//! Files derived from the trainer's rankings (`NAME.predictions.csv`, what `export
//! --all` reads), written off the UI thread: a whole-pool file with its fsyncs takes
//! tens of milliseconds at 60,000 items, and a keypress must not wait for it. The newest
//! ranking waiting replaces an older one; a failure goes to the log, never over the
//! screen (the file is derived: the journal holds every label).

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use glean_session::{write_predictions, PredictedItem};

/// Each pool item's predicted class and probability (None: labeled, or not ranked).
pub type Predicted = Vec<Option<(u16, f32)>>;

enum Message {
    Predictions(Predicted),
    /// Answered once everything sent before it is written.
    Flush(Sender<()>),
}

/// The writer thread of one session's derived files.
pub struct DerivedWriter {
    tx: Option<Sender<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl DerivedWriter {
    /// A writer of `path` (the predictions file), naming pool items by `ids`.
    pub fn spawn(path: PathBuf, ids: Arc<[String]>) -> std::io::Result<DerivedWriter> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("glean-derived".into())
            .spawn(move || run(&rx, &path, &ids))?;
        Ok(DerivedWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Writes `predicted` (one entry per pool item) when the thread gets to it.
    pub fn predictions(&self, predicted: Predicted) {
        if let Some(tx) = &self.tx {
            // A send fails only when the thread has ended; it logged why.
            let _ = tx.send(Message::Predictions(predicted));
        }
    }

    /// Waits until everything sent so far is written (or the thread has ended).
    pub fn flush(&self) {
        let Some(tx) = &self.tx else {
            return;
        };
        let (done, wait) = crossbeam_channel::bounded(1);
        if tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }
}

impl Drop for DerivedWriter {
    /// Writes what is waiting, then ends the thread.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(rx: &Receiver<Message>, path: &std::path::Path, ids: &[String]) {
    // The lowest priority: the file is tens of milliseconds of work a ranking, due when
    // the cores are free, and never before the frame after the key that arrives beside
    // the ranking (at the same priority it took half the UI thread's core then: the
    // full MNIST, keys after a ranking 14 ms instead of 6-8). Where the system refuses,
    // it runs at the usual priority.
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!("the derived files' writer keeps its priority: {e:?}");
    }
    let mut pending: Option<Predicted> = None;
    loop {
        // Take everything waiting: only the newest predictions are written.
        let first = match pending {
            Some(_) => rx.try_recv().ok(),
            None => match rx.recv() {
                Ok(message) => Some(message),
                Err(_) => return,
            },
        };
        match first {
            Some(Message::Predictions(predicted)) => pending = Some(predicted),
            Some(Message::Flush(done)) => {
                if let Some(predicted) = pending.take() {
                    write(path, ids, &predicted);
                }
                let _ = done.send(());
            }
            None => {
                if let Some(predicted) = pending.take() {
                    write(path, ids, &predicted);
                }
            }
        }
    }
}

fn write(path: &std::path::Path, ids: &[String], predicted: &[Option<(u16, f32)>]) {
    let started = std::time::Instant::now();
    let items: Vec<PredictedItem> = ids
        .iter()
        .zip(predicted)
        .map(|(id, p)| PredictedItem {
            item: id.clone(),
            class: p.map(|p| p.0),
            prob: p.map(|p| p.1),
        })
        .collect();
    match write_predictions(path, &items) {
        Ok(()) => tracing::debug!(
            "predictions of {} items written in {:.0} ms",
            items.len(),
            started.elapsed().as_secs_f64() * 1e3
        ),
        Err(error) => tracing::warn!("the predictions file {}: {error}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_predictions_are_written_and_a_failure_is_no_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.predictions.csv");
        let ids: Arc<[String]> = vec!["a".to_string(), "b".to_string()].into();
        let writer = DerivedWriter::spawn(path.clone(), ids.clone()).unwrap();
        writer.predictions(vec![Some((0, 0.5)), None]);
        writer.predictions(vec![None, Some((1, 0.75))]);
        writer.flush();
        let read = glean_session::read_predictions(&path).unwrap().unwrap();
        let rows: Vec<_> = read.iter().map(|p| (p.item.as_str(), p.class)).collect();
        assert_eq!(rows, [("a", None), ("b", Some(1))]);
        drop(writer);
        // A folder that is gone: logged, and the thread goes on to its end.
        let gone = DerivedWriter::spawn(dir.path().join("no/such/p.csv"), ids).unwrap();
        gone.predictions(vec![None, None]);
        gone.flush();
        drop(gone);
    }
}
