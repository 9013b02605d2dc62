//! Getting pool images onto the screen without making a keypress wait: a loader thread
//! decodes the current and the next few images ahead of time, and [`Pictures`] keeps
//! them with their rendered block art (or graphics-protocol state) per size.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Stylize;
use ratatui::widgets::{Paragraph, StatefulWidget, Widget, Wrap};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::{Resize, StatefulImage};

use super::app::escape_name;
use super::blockart::{self, BlockArt, CellShape};
use super::render_mode::Renderer;
use super::view::ImagePane;
use glean_dataset as dataset;

/// Images larger than this (either side) are shrunk once after decoding: no terminal
/// shows more, and block art and protocols then stay fast.
const MAX_DISPLAY_SIDE: u32 = 1600;
/// A review grid's thumbnails are shrunk to this: a cell of the grid shows less, and a
/// page of photos stays small in memory. The thumbnail cache keeps them at this size.
const THUMB_SIDE: u32 = dataset::THUMB_SIDE;

/// Where the pixels of pool item `item` come from.
pub trait ImageSource: Send + Sync {
    /// The image, upright; it may come out smaller than stored, but no smaller than
    /// needed to fill a `side`×`side` square (large JPEGs are decoded at a reduced
    /// scale).
    fn load(&self, item: usize, side: u32) -> anyhow::Result<DynamicImage>;
}

/// Image files by pool index, opened as the model opens them.
pub struct FileImages {
    pub paths: Vec<PathBuf>,
    /// Thumbnails kept by the model's decode (or by an earlier look), read before the
    /// file for the review grid (None: every thumbnail is decoded from its file).
    pub thumbnails: Option<dataset::ThumbnailCache>,
}

impl ImageSource for FileImages {
    fn load(&self, item: usize, side: u32) -> anyhow::Result<DynamicImage> {
        let path = self
            .paths
            .get(item)
            .ok_or_else(|| anyhow::anyhow!("no pool item {item}"))?;
        open_file(path, side, self.thumbnails.as_ref())
    }
}

/// The file at `path`, fitting a `side` square; a thumbnail from `thumbnails` when
/// there is one (and kept there when there was none).
fn open_file(
    path: &Path,
    side: u32,
    thumbnails: Option<&dataset::ThumbnailCache>,
) -> anyhow::Result<DynamicImage> {
    match thumbnails {
        Some(thumbnails) if side == THUMB_SIDE => thumbnails.open(path),
        _ => dataset::open_image(path, dataset::MinSize::LongerSide(side)),
    }
    .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))
}

/// Pool images for the screen: image files at full size; IDX digits from their IDX
/// file, read once when the first of them is shown.
pub struct PoolImages {
    sources: Vec<dataset::Source>,
    idx: Mutex<HashMap<PathBuf, Arc<dataset::IdxImages>>>,
    thumbnails: Option<dataset::ThumbnailCache>,
}

impl PoolImages {
    /// The images of `pool`; the review grid's thumbnails come from the thumbnail
    /// cache of glean's cache folder `cache_dir` where it has them.
    pub fn new(pool: &dataset::Pool, cache_dir: Option<&Path>) -> Self {
        PoolImages {
            sources: pool.items.iter().map(|i| i.source.clone()).collect(),
            idx: Mutex::new(HashMap::new()),
            thumbnails: cache_dir.map(dataset::ThumbnailCache::new),
        }
    }

    fn idx_image(&self, file: &Path, index: usize) -> anyhow::Result<DynamicImage> {
        let images = {
            let mut files = self
                .idx
                .lock()
                .map_err(|_| anyhow::anyhow!("IDX cache poisoned"))?;
            match files.get(file) {
                Some(images) => Arc::clone(images),
                None => {
                    let images = Arc::new(dataset::read_idx_images(file)?);
                    files.insert(file.to_path_buf(), Arc::clone(&images));
                    images
                }
            }
        };
        if index >= images.count {
            anyhow::bail!("{}: no image {index}", file.display());
        }
        GrayImage::from_raw(images.cols, images.rows, images.image(index).to_vec())
            .map(DynamicImage::ImageLuma8)
            .context("an IDX image of the wrong size")
    }
}

impl ImageSource for PoolImages {
    fn load(&self, item: usize, side: u32) -> anyhow::Result<DynamicImage> {
        match self.sources.get(item).context("no such pool item")? {
            dataset::Source::File(path) => open_file(path, side, self.thumbnails.as_ref()),
            dataset::Source::Idx { file, index } => self.idx_image(file, *index),
        }
    }
}

pub type Loaded = Result<Arc<DynamicImage>, String>;

/// Decode `item` (as a thumbnail for the review grid when `thumb`); with `art`, also
/// render its block art to fit that many cells in that shape, so the frame after a key
/// press only copies cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRequest {
    pub item: usize,
    pub art: Option<(u16, u16, CellShape)>,
    pub thumb: bool,
}

/// Start the loader thread: it decodes each requested item (and renders its block art
/// when asked) and hands them to `deliver` with the request. It ends when the request
/// channel closes or `deliver` returns false.
pub fn spawn_loader(
    source: Arc<dyn ImageSource>,
    deliver: impl Fn(ImageRequest, Loaded, Option<BlockArt>) -> bool + Send + 'static,
) -> std::io::Result<Sender<ImageRequest>> {
    let (tx, rx): (Sender<ImageRequest>, Receiver<ImageRequest>) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("glean-images".into())
        .spawn(move || {
            for request in rx {
                let ImageRequest { item, art, thumb } = request;
                let side = if thumb { THUMB_SIDE } else { MAX_DISPLAY_SIDE };
                let loaded = source
                    .load(item, side)
                    .map(|image| Arc::new(shrink(image, side)))
                    .map_err(|error| format!("{error:#}"));
                if let Err(error) = &loaded {
                    tracing::warn!("cannot load pool item {item}: {error}");
                }
                let art = match (&loaded, art) {
                    (Ok(image), Some((area_cols, area_rows, shape))) => {
                        let (cols, rows) =
                            blockart::fit(image.width(), image.height(), area_cols, area_rows);
                        Some(blockart::render(image, cols, rows, shape))
                    }
                    _ => None,
                };
                if !deliver(request, loaded, art) {
                    break;
                }
            }
        })?;
    Ok(tx)
}

fn shrink(image: DynamicImage, side: u32) -> DynamicImage {
    dataset::fit_within(&image, side).unwrap_or(image)
}

/// Decoded images of one kind (full size, or the review grid's thumbnails) and their
/// block art.
#[derive(Default)]
struct Shelf {
    images: HashMap<usize, Loaded>,
    pending: HashSet<usize>,
    /// Block art per item, at the size it was last rendered for.
    arts: HashMap<usize, BlockArt>,
    /// The image area last painted: block art is pre-rendered for it.
    last_area: Option<Rect>,
}

impl Shelf {
    /// Forget what `keep` leaves out; the requests for `items` not decoded yet.
    fn want(
        &mut self,
        items: &[usize],
        keep: &HashSet<usize>,
        renderer: &Renderer,
        thumb: bool,
    ) -> Vec<ImageRequest> {
        self.images.retain(|item, _| keep.contains(item));
        self.arts.retain(|item, _| keep.contains(item));
        let request: Vec<usize> = items
            .iter()
            .copied()
            .filter(|item| !self.images.contains_key(item) && !self.pending.contains(item))
            .collect();
        self.pending.extend(&request);
        let art = match (renderer, self.last_area) {
            (Renderer::Blocks(shape), Some(area)) => Some((area.width, area.height, *shape)),
            _ => None,
        };
        request
            .into_iter()
            .map(|item| ImageRequest { item, art, thumb })
            .collect()
    }

    fn insert(&mut self, item: usize, loaded: Loaded, art: Option<BlockArt>) {
        self.pending.remove(&item);
        self.images.insert(item, loaded);
        if let Some(art) = art {
            self.arts.insert(item, art);
        }
    }

    /// The decoded image of `item`, or what to say instead.
    fn image(&mut self, item: usize, area: Rect) -> Result<Arc<DynamicImage>, Option<String>> {
        self.last_area = Some(area);
        match self.images.get(&item) {
            Some(Ok(image)) => Ok(Arc::clone(image)),
            Some(Err(error)) => Err(Some(error.clone())),
            None => Err(None),
        }
    }

    /// The decoded image of `item`, or None once a note in `area` says why there is none
    /// yet (`failed` words a load's error).
    fn image_or_note(
        &mut self,
        item: usize,
        area: Rect,
        buf: &mut Buffer,
        failed: impl FnOnce(String) -> String,
    ) -> Option<Arc<DynamicImage>> {
        match self.image(item, area) {
            Ok(image) => Some(image),
            Err(error) => {
                note(area, buf, error.map_or_else(|| "loading…".into(), failed));
                None
            }
        }
    }

    /// Paint `image` of `item` as block art, rendered anew only when the size changed.
    fn paint_blocks(
        &mut self,
        item: usize,
        image: &DynamicImage,
        shape: CellShape,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let (cols, rows) = blockart::fit(image.width(), image.height(), area.width, area.height);
        let fresh = self
            .arts
            .get(&item)
            .is_some_and(|a| a.cols == cols && a.rows == rows);
        if !fresh {
            self.arts
                .insert(item, blockart::render(image, cols, rows, shape));
        }
        if let Some(art) = self.arts.get(&item) {
            art.paint(area, buf);
        }
    }
}

/// Decoded images of the items around the current one and of the review page, and
/// what was last drawn.
pub struct Pictures {
    renderer: Renderer,
    full: Shelf,
    thumbs: Shelf,
    recent: VecDeque<usize>,
    protocol: Option<(usize, StatefulProtocol)>,
    /// The review grid's graphics-protocol states, one per thumbnail.
    thumb_protocols: HashMap<usize, StatefulProtocol>,
    names: Vec<String>,
}

/// Items shown lately stay decoded, so undo shows them again at once.
const RECENT: usize = 8;

/// Scale (not just fit) so a 28×28 digit fills the area; small images stay crisp with
/// nearest-neighbour, photos are smoothed.
fn scale_filter(image: &DynamicImage) -> FilterType {
    if image.width().max(image.height()) <= 64 {
        FilterType::Nearest
    } else {
        FilterType::Triangle
    }
}

impl Pictures {
    pub fn new(renderer: Renderer, names: Vec<String>) -> Self {
        Pictures {
            renderer,
            full: Shelf::default(),
            thumbs: Shelf::default(),
            recent: VecDeque::new(),
            protocol: None,
            thumb_protocols: HashMap::new(),
            names,
        }
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Note which items should be decoded (current first); returns those to request now,
    /// and forgets images no longer near.
    pub fn want(&mut self, items: &[usize]) -> Vec<ImageRequest> {
        if let Some(&current) = items.first() {
            if self.recent.front() != Some(&current) {
                self.recent.retain(|&i| i != current);
                self.recent.push_front(current);
                self.recent.truncate(RECENT);
            }
        }
        let keep: HashSet<usize> = items.iter().chain(&self.recent).copied().collect();
        self.full.want(items, &keep, &self.renderer, false)
    }

    /// Note which thumbnails the review page shows; returns those to request now, and
    /// forgets the others.
    pub fn want_thumbs(&mut self, items: &[usize]) -> Vec<ImageRequest> {
        let keep: HashSet<usize> = items.iter().copied().collect();
        self.thumb_protocols.retain(|item, _| keep.contains(item));
        self.thumbs.want(items, &keep, &self.renderer, true)
    }

    pub fn insert(&mut self, item: usize, loaded: Loaded, art: Option<BlockArt>) {
        self.full.insert(item, loaded, art);
    }

    /// A decoded thumbnail (see [`Pictures::want_thumbs`]).
    pub fn insert_thumb(&mut self, item: usize, loaded: Loaded, art: Option<BlockArt>) {
        self.thumbs.insert(item, loaded, art);
    }

    pub fn is_ready(&self, item: usize) -> bool {
        self.full.images.contains_key(&item)
    }
}

/// A dim note where an image would be.
fn note(area: Rect, buf: &mut Buffer, text: String) {
    let area = area.centered_vertically(Constraint::Length(2));
    Paragraph::new(text)
        .centered()
        .wrap(Wrap { trim: true })
        .dim()
        .render(area, buf);
}

/// Paint `image` through a graphics protocol, scaled to fill `area`.
fn paint_protocol(
    image: &DynamicImage,
    protocol: &mut StatefulProtocol,
    area: Rect,
    buf: &mut Buffer,
) {
    StatefulImage::default()
        .resize(Resize::Scale(Some(scale_filter(image))))
        .render(area, buf, protocol);
}

impl ImagePane for Pictures {
    fn paint(&mut self, item: usize, area: Rect, buf: &mut Buffer) {
        let names = &self.names;
        let Some(image) = self.full.image_or_note(item, area, buf, |error| {
            let name = names.get(item).map(|n| escape_name(n)).unwrap_or_default();
            format!("cannot show {name}: {}", escape_name(&error))
        }) else {
            return;
        };
        match &self.renderer {
            Renderer::Blocks(shape) => {
                let shape = *shape;
                self.full.paint_blocks(item, &image, shape, area, buf);
            }
            Renderer::Protocol(picker) => {
                if !matches!(&self.protocol, Some((i, _)) if *i == item) {
                    let protocol = picker.new_resize_protocol((*image).clone());
                    self.protocol = Some((item, protocol));
                }
                if let Some((_, protocol)) = &mut self.protocol {
                    paint_protocol(&image, protocol, area, buf);
                }
            }
        }
    }

    fn paint_thumb(&mut self, item: usize, area: Rect, buf: &mut Buffer) {
        let Some(image) = self
            .thumbs
            .image_or_note(item, area, buf, |_| "cannot show".into())
        else {
            return;
        };
        match &self.renderer {
            Renderer::Blocks(shape) => {
                let shape = *shape;
                self.thumbs.paint_blocks(item, &image, shape, area, buf);
            }
            Renderer::Protocol(picker) => {
                let protocol = self
                    .thumb_protocols
                    .entry(item)
                    .or_insert_with(|| picker.new_resize_protocol((*image).clone()));
                paint_protocol(&image, protocol, area, buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockart::CellShape;
    use image::{GrayImage, Luma};

    struct Digits;
    impl ImageSource for Digits {
        fn load(&self, item: usize, _side: u32) -> anyhow::Result<DynamicImage> {
            anyhow::ensure!(item < 3, "item {item} is corrupt");
            Ok(DynamicImage::ImageLuma8(GrayImage::from_pixel(
                28,
                28,
                Luma([item as u8 * 100]),
            )))
        }
    }

    fn text_of(buf: &Buffer) -> String {
        buf.content().iter().map(|c| c.symbol()).collect()
    }

    /// Pictures painted through a graphics protocol (half blocks, as a terminal without
    /// one gets).
    fn protocol_pictures() -> Pictures {
        let picker = ratatui_image::picker::Picker::halfblocks();
        Pictures::new(Renderer::Protocol(Box::new(picker)), vec!["a".into()])
    }

    /// How many cells of `buf` have a colour.
    fn painted(buf: &Buffer) -> usize {
        buf.content()
            .iter()
            .filter(|c| {
                c.bg != ratatui::style::Color::Reset || c.fg != ratatui::style::Color::Reset
            })
            .count()
    }

    #[test]
    fn graphics_protocols_paint_through_ratatui_image() {
        let mut pictures = protocol_pictures();
        pictures.insert(0, Ok(Arc::new(Digits.load(2, THUMB_SIDE).unwrap())), None);
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 10));
        pictures.paint(0, buf.area, &mut buf);
        let painted = painted(&buf);
        assert!(painted > 20, "only {painted} cells painted");
    }

    #[test]
    fn photo_files_load_upright_and_no_larger_than_needed() {
        // A 2048×1024 photo stored sideways (EXIF orientation 6): left half red.
        let stored = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2048, 1024, |x, _| {
            image::Rgb(if x < 1024 { [255, 0, 0] } else { [0, 0, 255] })
        }));
        let bytes =
            glean_test_support::with_exif_orientation(&glean_test_support::jpeg(&stored, 90), 6);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sideways.jpg");
        std::fs::write(&path, bytes).unwrap();
        let files = FileImages {
            paths: vec![path],
            thumbnails: None,
        };
        // The screen's side keeps every pixel; a thumbnail's is decoded at 1/8 scale.
        for (side, size) in [(MAX_DISPLAY_SIDE, (1024, 2048)), (THUMB_SIDE, (128, 256))] {
            let rgb = files.load(0, side).unwrap().to_rgb8();
            assert_eq!(rgb.dimensions(), size);
            let (top, bottom) = (
                rgb.get_pixel(size.0 / 2, size.1 / 4),
                rgb.get_pixel(size.0 / 2, 3 * size.1 / 4),
            );
            assert!(top[0] > 200 && top[2] < 50, "top {top:?}");
            assert!(bottom[2] > 200 && bottom[0] < 50, "bottom {bottom:?}");
        }
        let missing = files.load(1, THUMB_SIDE).unwrap_err();
        assert!(missing.to_string().contains("no pool item 1"), "{missing}");
    }

    /// A noisy `colour` photo (compressing as badly as a photo does), 2048×1024 stored
    /// sideways (EXIF orientation 6).
    fn write_sideways_photo(path: &Path, colour: [u8; 3]) {
        let stored = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2048, 1024, |x, y| {
            let noise = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27) as u8;
            image::Rgb(colour.map(|c| c.saturating_add(noise)))
        }));
        let bytes =
            glean_test_support::with_exif_orientation(&glean_test_support::jpeg(&stored, 90), 6);
        std::fs::write(path, bytes).unwrap();
    }

    fn centre(image: &DynamicImage) -> image::Rgb<u8> {
        let rgb = image.to_rgb8();
        *rgb.get_pixel(rgb.width() / 2, rgb.height() / 2)
    }

    #[test]
    fn review_thumbnails_come_from_the_thumbnail_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        for class in ["red", "green"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
        }
        let (red, green) = (root.join("red/a.jpg"), root.join("green/b.jpg"));
        write_sideways_photo(&red, [200, 0, 0]);
        write_sideways_photo(&green, [0, 200, 0]);
        let pool = dataset::scan(&root, &dataset::ScanOptions::default()).unwrap();
        let index = |path: &Path| {
            pool.items
                .iter()
                .position(|i| i.source == dataset::Source::File(path.to_path_buf()))
                .unwrap()
        };
        let cache = dir.path().join("cache");
        let thumbnails = dataset::ThumbnailCache::new(&cache);
        let images = PoolImages::new(&pool, Some(&cache));

        // A first look decodes the file and keeps its thumbnail.
        assert!(!thumbnails.file_for(&red).unwrap().exists());
        let first = images.load(index(&red), THUMB_SIDE).unwrap();
        assert_eq!((first.width(), first.height()), (128, 256));
        assert!(centre(&first)[0] > 150, "{:?}", centre(&first));
        let red_thumb = thumbnails.file_for(&red).unwrap();
        assert!(red_thumb.exists());
        images.load(index(&green), THUMB_SIDE).unwrap();

        // The next look reads the kept file, not the photo: given the green photo's
        // thumbnail under the red one's name, it shows green.
        std::fs::copy(thumbnails.file_for(&green).unwrap(), &red_thumb).unwrap();
        let again = images.load(index(&red), THUMB_SIDE).unwrap();
        assert!(centre(&again)[1] > 150, "{:?}", centre(&again));
        // The full-size image still comes from the photo.
        let full = images.load(index(&red), MAX_DISPLAY_SIDE).unwrap();
        assert_eq!((full.width(), full.height()), (1024, 2048));
        assert!(centre(&full)[0] > 150, "{:?}", centre(&full));

        // Without a cache folder nothing is read or kept.
        std::fs::remove_dir_all(&cache).unwrap();
        let uncached = PoolImages::new(&pool, None);
        let thumb = uncached.load(index(&red), THUMB_SIDE).unwrap();
        assert!(centre(&thumb)[0] > 150, "{:?}", centre(&thumb));
        assert!(!cache.exists());
    }

    #[test]
    fn loader_delivers_images_art_and_errors() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let requests = spawn_loader(Arc::new(Digits), move |request, loaded, art| {
            tx.send((request.item, loaded, art)).is_ok()
        })
        .unwrap();
        let request = |item, art| ImageRequest {
            item,
            art,
            thumb: false,
        };
        requests.send(request(1, None)).unwrap();
        let art = Some((10, 10, CellShape::Half));
        requests.send(request(2, art)).unwrap();
        requests.send(request(7, art)).unwrap();
        let (item, loaded, art) = rx.recv().unwrap();
        assert_eq!((item, loaded.unwrap().width(), art), (1, 28, None));
        let (item, _, art) = rx.recv().unwrap();
        let art = art.expect("art was asked for");
        // a square image in 10×10 cells of 1:2 is 10 columns × 5 rows
        assert_eq!((item, art.cols, art.rows), (2, 10, 5));
        let (item, loaded, art) = rx.recv().unwrap();
        assert_eq!((item, art), (7, None));
        assert!(loaded.unwrap_err().contains("corrupt"));
    }

    #[test]
    fn want_requests_each_item_once_and_paints_when_loaded() {
        let names = vec!["a".to_string(), "b\u{1b}[31m".to_string(), "c".to_string()];
        let mut pictures = Pictures::new(Renderer::Blocks(CellShape::Half), names);
        let plain = |item| ImageRequest {
            item,
            art: None,
            thumb: false,
        };
        assert_eq!(pictures.want(&[0, 1]), vec![plain(0), plain(1)]);
        assert!(pictures.want(&[0, 1]).is_empty());
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 10));
        pictures.paint(0, buf.area, &mut buf);
        assert!(text_of(&buf).contains("loading"));
        // after a frame, requests ask for art at that frame's size
        let art = Some((20, 10, CellShape::Half));
        assert_eq!(
            pictures.want(&[0, 1, 2]),
            vec![ImageRequest {
                item: 2,
                art,
                thumb: false
            }]
        );
        pictures.insert(0, Ok(Arc::new(Digits.load(2, THUMB_SIDE).unwrap())), None);
        pictures.insert(1, Err("broken".into()), None);
        pictures.paint(0, buf.area, &mut buf);
        // a 28×28 grey square in 20×10 cells: 20 columns, 10 rows of uniform grey
        assert_eq!(buf[(0, 0)].bg, ratatui::style::Color::Rgb(200, 200, 200));
        // pre-rendered art of the right size is used as it is
        let mut marked = blockart::render(
            &Digits.load(0, THUMB_SIDE).unwrap(),
            20,
            10,
            CellShape::Half,
        );
        marked.cells[0].bg = [1, 2, 3];
        pictures.insert(
            2,
            Ok(Arc::new(Digits.load(0, THUMB_SIDE).unwrap())),
            Some(marked),
        );
        pictures.paint(2, buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].bg, ratatui::style::Color::Rgb(1, 2, 3));
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 10));
        pictures.paint(1, buf.area, &mut buf);
        let text = text_of(&buf);
        assert!(text.contains("cannot show b\\u{1b}[31m: broken"), "{text}");
    }

    /// A big photo.
    struct Photo;
    impl ImageSource for Photo {
        fn load(&self, _item: usize, _side: u32) -> anyhow::Result<DynamicImage> {
            Ok(DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
                1000,
                500,
                image::Rgb([10, 200, 30]),
            )))
        }
    }

    #[test]
    fn thumbnails_are_small_and_kept_apart_from_the_full_images() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let requests = spawn_loader(Arc::new(Photo), move |request, loaded, _| {
            tx.send((request, loaded.unwrap())).is_ok()
        })
        .unwrap();
        for thumb in [true, false] {
            let request = ImageRequest {
                item: 0,
                art: None,
                thumb,
            };
            requests.send(request).unwrap();
        }
        let (request, image) = rx.recv().unwrap();
        assert!(request.thumb);
        assert_eq!(
            (image.width(), image.height()),
            (THUMB_SIDE, THUMB_SIDE / 2)
        );
        let (request, image) = rx.recv().unwrap();
        assert!(!request.thumb);
        assert_eq!(image.width(), 1000);

        let mut pictures = Pictures::new(Renderer::Blocks(CellShape::Half), vec!["a".into()]);
        assert_eq!(pictures.want_thumbs(&[0, 1]).len(), 2);
        assert!(pictures.want_thumbs(&[0, 1]).is_empty(), "asked once");
        pictures.insert_thumb(0, Ok(Arc::new(Digits.load(2, THUMB_SIDE).unwrap())), None);
        let mut buf = Buffer::empty(Rect::new(0, 0, 11, 5));
        pictures.paint_thumb(0, buf.area, &mut buf);
        assert_eq!(buf[(1, 0)].bg, ratatui::style::Color::Rgb(200, 200, 200));
        // The full image is another: not decoded yet.
        let mut full = Buffer::empty(Rect::new(0, 0, 20, 10));
        pictures.paint(0, full.area, &mut full);
        assert!(text_of(&full).contains("loading"));
        // Thumbnails asked for after a frame come with art for the grid's cell.
        assert_eq!(
            pictures.want_thumbs(&[0, 2]),
            [ImageRequest {
                item: 2,
                art: Some((11, 5, CellShape::Half)),
                thumb: true
            }]
        );
        // Graphics protocols paint thumbnails too.
        let mut pictures = protocol_pictures();
        pictures.want_thumbs(&[0]);
        pictures.insert_thumb(0, Ok(Arc::new(Digits.load(2, THUMB_SIDE).unwrap())), None);
        let mut buf = Buffer::empty(Rect::new(0, 0, 11, 5));
        pictures.paint_thumb(0, buf.area, &mut buf);
        let painted = painted(&buf);
        assert!(painted > 10, "only {painted} cells painted");
    }
}
