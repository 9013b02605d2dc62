//! One pass of images through the backbone, with decoding on worker threads ahead of
//! the forward passes: the images are read in a given order (the order the person will
//! see them in), `batch` at a time, and each batch's features are handed on as soon as
//! they exist, so that what is computed can be shown, cached and used before the pass
//! ends.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use rayon::prelude::*;
use tch::{Kind, Tensor};

use crate::backbone::effnet_lite::EffnetLite;
use crate::LearnError;
use glean_dataset::{self as dataset, DecodeSpec, SkipReason, Source, ThumbnailCache};

/// Batches decoded ahead of the forward pass: enough to hide a slow file, few enough
/// that a cancelled pass wastes little.
const DECODE_AHEAD: usize = 3;
/// How often a pass waiting for decoded images looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// The images a pass reads, by row, decoded as 3-channel `side`×`side` CHW u8.
pub trait ImageRows: Send + Sync {
    fn rows(&self) -> usize;
    fn side(&self) -> usize;
    /// Decodes row `row` into `out` (`3 * side * side` bytes).
    fn decode(&self, row: usize, out: &mut [u8]) -> Result<(), SkipReason>;
}

/// Images already decoded into one buffer (`glean simulate`, the tests).
pub struct PixelRows {
    pub pixels: Vec<Arc<Vec<u8>>>,
    pub side: usize,
}

impl PixelRows {
    fn item_len(&self) -> usize {
        3 * self.side * self.side
    }

    /// The buffer holding `row`, and the row's index in it.
    fn locate(&self, mut row: usize) -> Option<(&[u8], usize)> {
        for part in &self.pixels {
            let n = part.len() / self.item_len();
            if row < n {
                return Some((part, row));
            }
            row -= n;
        }
        None
    }
}

impl ImageRows for PixelRows {
    fn rows(&self) -> usize {
        self.pixels.iter().map(|p| p.len()).sum::<usize>() / self.item_len()
    }

    fn side(&self) -> usize {
        self.side
    }

    fn decode(&self, row: usize, out: &mut [u8]) -> Result<(), SkipReason> {
        let len = self.item_len();
        let (buf, at) = self.locate(row).ok_or(SkipReason::Unreadable)?;
        out.copy_from_slice(&buf[at * len..(at + 1) * len]);
        Ok(())
    }
}

/// Image files, decoded when the pass reaches them (`glean label`: nothing is decoded
/// before the screen comes up).
pub struct FileRows {
    pub sources: Vec<Source>,
    pub spec: DecodeSpec,
    /// Where the large photos' thumbnails are kept as they are decoded, for the review
    /// grid (None: not kept).
    pub thumbnails: Option<ThumbnailCache>,
}

impl ImageRows for FileRows {
    fn rows(&self) -> usize {
        self.sources.len()
    }

    fn side(&self) -> usize {
        self.spec.size as usize
    }

    fn decode(&self, row: usize, out: &mut [u8]) -> Result<(), SkipReason> {
        match self.sources.get(row) {
            Some(Source::File(path)) => dataset::decode_file_keeping_thumbnail(
                path,
                self.spec,
                out,
                self.thumbnails.as_ref(),
            ),
            // IDX digits are grayscale: they never reach a colour backbone.
            Some(Source::Idx { .. }) | None => Err(SkipReason::NotImage),
        }
    }
}

/// One batch of a pass: the rows that decoded with their features (row for row,
/// `[rows, dim]` on the network's device), and the rows that did not decode.
pub struct PassBatch {
    pub rows: Vec<usize>,
    pub features: Tensor,
    pub failed: Vec<(usize, SkipReason)>,
}

type Decoded = (Vec<usize>, Vec<Result<Vec<u8>, SkipReason>>);

/// Runs `order`'s rows of `images` through `net`, `batch` at a time, decoding on a
/// worker thread (and rayon's pool) ahead of the forward passes, and calls `on_batch`
/// with each batch's features. `cancelled` is polled between batches and while waiting
/// for decoded images; a cancelled pass returns `LearnError::Cancelled` at once, and
/// its decoding stops after the batch it is on.
pub fn run_pass(
    net: &EffnetLite,
    images: Arc<dyn ImageRows>,
    order: Vec<usize>,
    batch: usize,
    on_batch: &mut dyn FnMut(PassBatch) -> Result<(), LearnError>,
    cancelled: &dyn Fn() -> bool,
) -> Result<(), LearnError> {
    let side = images.side() as i64;
    let item = images.side() * images.side() * 3;
    let (tx, rx) = crossbeam_channel::bounded::<Decoded>(DECODE_AHEAD);
    // Decoding in parallel only with cores to spare: on cores the network's threads use,
    // more threads only take turns with them (one thread keeps ahead of a CPU's forward
    // passes even for large photos).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = cores > tch::get_num_threads().max(1) as usize;
    std::thread::Builder::new()
        .name("glean-decode".into())
        .spawn(move || {
            let decode = |&row: &usize| {
                let mut out = vec![0u8; item];
                images.decode(row, &mut out).map(|()| out)
            };
            for rows in order.chunks(batch.max(1)) {
                let decoded = if parallel {
                    rows.par_iter().map(decode).collect()
                } else {
                    rows.iter().map(decode).collect()
                };
                if tx.send((rows.to_vec(), decoded)).is_err() {
                    return; // the pass ended or was cancelled
                }
            }
        })
        .map_err(|e| LearnError::Other(format!("starting the decoding thread: {e}")))?;
    loop {
        if cancelled() {
            return Err(LearnError::Cancelled);
        }
        let (rows, decoded) = match rx.recv_timeout(CANCEL_POLL) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let mut pixels = Vec::with_capacity(rows.len() * item);
        let mut failed = Vec::new();
        let mut ok_rows = Vec::with_capacity(rows.len());
        for (&row, result) in rows.iter().zip(decoded) {
            match result {
                Ok(bytes) => {
                    pixels.extend_from_slice(&bytes);
                    ok_rows.push(row);
                }
                Err(reason) => failed.push((row, reason)),
            }
        }
        let features = if ok_rows.is_empty() {
            Tensor::zeros([0, net.feature_dim()], (Kind::Float, net.device()))
        } else {
            let n = ok_rows.len() as i64;
            net.features(&Tensor::f_from_slice(&pixels)?.f_view([n, 3, side, side])?)?
        };
        on_batch(PassBatch {
            rows: ok_rows,
            features,
            failed,
        })?;
    }
}
