//! Error types, one enum per fault.

use std::path::PathBuf;

use latent_wire::WireError;

/// Any failure of the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A model bundle is missing a file or holds something unusable.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Input image problems.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A `.lat` file that cannot be decoded.
    #[error(transparent)]
    Lat(#[from] LatError),
    /// A size over a configured limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A quality setting the model does not offer.
    #[error("quality {requested} is not offered by this model (it offers: {supported:?})")]
    Quality {
        /// What was asked for.
        requested: u8,
        /// What the model offers.
        supported: Vec<u8>,
    },
    /// A colour picture given to a model that codes gray pictures only.
    #[error("model {model} codes gray pictures only, and this one is colour")]
    ColourToGrayModel {
        /// The model's name.
        model: String,
    },
    /// No quality codes the picture within the bytes allowed.
    #[error("even quality {quality}, the lowest, takes {bytes} bytes, over the {max} allowed")]
    TooSmall {
        /// The lowest quality.
        quality: u8,
        /// What its file takes.
        bytes: usize,
        /// What was allowed.
        max: usize,
    },
    /// An IDX (MNIST-format) file that cannot be read.
    #[error("{}", path.display())]
    #[cfg(feature = "demos")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: IdxError,
    },
    /// A demo-model request that the model cannot serve.
    #[error(transparent)]
    #[cfg(feature = "demos")]
    Demo(#[from] DemoError),
    /// Packets that cannot be made or put back together.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// A plot that could not be drawn.
    #[error(transparent)]
    #[cfg(feature = "cli")]
    Plot(#[from] crate::report::plot::PlotError),
    /// tract failed to optimize or run a graph.
    #[error("inference failed in the {graph} graph: {message}")]
    Inference {
        /// Which graph ("encoder" / "decoder").
        graph: &'static str,
        /// tract's error chain.
        message: String,
    },
}

/// A file system operation on a path failed: displays the path, with the OS error as its
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
pub struct IoError {
    /// The path involved.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

impl IoError {
    /// Wraps `source` with the `path` it concerns.
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self {
            path: path.into(),
            source,
        }
    }
}

/// A model bundle that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A required file is not in the bundle directory.
    #[error("model bundle {}: missing {file}", dir.display())]
    MissingFile {
        /// Bundle directory.
        dir: PathBuf,
        /// File name expected in it.
        file: &'static str,
    },
    /// `prior.json` does not parse or is inconsistent.
    #[error("model bundle {source_name}: bad prior.json: {reason}")]
    BadPrior {
        /// Where the bundle came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A metadata file (`model.json`) that does not parse or is inconsistent.
    #[error("model bundle {source_name}: bad {file}: {reason}")]
    BadMeta {
        /// Where the bundle came from.
        source_name: String,
        /// The file.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An ONNX graph that tract cannot parse.
    #[error("model bundle {source_name}: {graph} does not load")]
    GraphLoad {
        /// Where the bundle came from.
        source_name: String,
        /// The graph's file name, e.g. "encoder.onnx".
        graph: &'static str,
        /// tract's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An ONNX graph whose inputs or outputs are not what its role needs.
    #[error("model bundle {source_name}: bad {graph}: {reason}")]
    BadGraph {
        /// Where the bundle came from.
        source_name: String,
        /// The graph's file name, e.g. "encoder.onnx".
        graph: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// int8 asked of a bundle without int8 graphs.
    #[error("model bundle {source_name} has no int8 graphs ({files})")]
    NoInt8 {
        /// Where the bundle came from.
        source_name: String,
        /// The files it would need.
        files: &'static str,
    },
}

/// An input image that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Not an image format we read, or corrupt image data.
    #[error("{}: not a readable image", path.display())]
    Unreadable {
        /// The input path.
        path: PathBuf,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// Encoding an output image failed.
    #[error("{}: cannot encode image", path.display())]
    Unwritable {
        /// The output path.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
}

/// A `.lat` file that cannot be decoded by this model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LatError {
    /// Bad container or entropy-coded payload.
    #[error("invalid .lat: {0}")]
    Wire(#[from] WireError),
    /// Made by a different model bundle.
    #[error(".lat was made by model {file}, but the loaded model is {model}")]
    ModelMismatch {
        /// Fingerprint in the file (hex).
        file: String,
        /// Fingerprint of the loaded model (hex).
        model: String,
    },
    /// Latent shape in the header does not fit the image size for this model.
    #[error(
        "invalid .lat: latent shape {found:?} does not match a {width}x{height} image (expected {expected:?})"
    )]
    LatentShape {
        /// Shape in the header (channels, height, width).
        found: [usize; 3],
        /// Shape the model implies.
        expected: [usize; 3],
        /// Image width in the header.
        width: u32,
        /// Image height in the header.
        height: u32,
    },
    /// A hyperprior `.lat` whose side information is cut short or does not cover the latent.
    #[error("invalid .lat: hyperprior side information: {0}")]
    SideInfo(&'static str),
    /// What codes latent values apart from their side information (packets, concealment,
    /// fitted tables) asked of a hyperprior model.
    #[error(
        "{0} is not possible with a hyperprior model: its values are coded with tables that its side information picks"
    )]
    Hyperprior(&'static str),
    /// An image side longer than a `.lat` header can describe.
    #[error(
        "a {width}x{height} image does not fit a .lat file: sides are at most {max} pixels (65535 latent positions at stride {stride})"
    )]
    SideTooLong {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// Longest side the model's stride allows.
        max: u64,
        /// The model's stride.
        stride: usize,
    },
}

pub use crate::limits::LimitError;

/// An IDX file that does not hold what its header says.
#[cfg(feature = "demos")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The first two bytes are not zero.
    #[error("not an IDX file (magic 0x{found:08x}; expected 0x000008NN)")]
    BadMagic {
        /// The first four bytes, big-endian.
        found: u32,
    },
    /// A data type other than unsigned byte.
    #[error("IDX data type 0x{0:02x} is not supported (only 0x08, unsigned byte)")]
    UnsupportedType(u8),
    /// Zero dimensions declared.
    #[error("IDX header declares no dimensions")]
    NoDimensions,
    /// Fewer bytes than the header declares.
    #[error("truncated: {found} bytes, the header needs {expected}")]
    Truncated {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// More bytes than the header declares.
    #[error("{found} bytes, but the header describes {expected}")]
    TrailingBytes {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Data over the byte limit.
    #[error("{bytes} bytes of data, over the limit of {limit}")]
    TooLarge {
        /// Bytes declared or decompressed.
        bytes: u64,
        /// The configured maximum.
        limit: u64,
    },
    /// A broken gzip stream.
    #[error("bad gzip data")]
    Gzip(#[source] std::io::Error),
}

/// A demo request that the loaded model or the given data cannot serve.
#[cfg(feature = "demos")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// `--model` names neither an embedded model nor a directory.
    #[error("model {spec:?} is neither an embedded model (fashion, mnist) nor a directory")]
    UnknownModel {
        /// What was given.
        spec: String,
    },
    /// A latent point or model with the wrong dimension.
    #[error("latent dimension is {found}, expected {expected}")]
    LatentDim {
        /// Dimension needed.
        expected: usize,
        /// Dimension found.
        found: usize,
    },
    /// A class index the model does not have.
    #[error("class {class} does not exist: the model has classes 0..={}", classes.saturating_sub(1))]
    UnknownClass {
        /// Requested class.
        class: usize,
        /// Number of classes.
        classes: usize,
    },
    /// Images and labels that do not pair up.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// An IDX file of the wrong rank for its role.
    #[error("{what} must be a {expected}-D IDX array, found dimensions {found:?}")]
    Rank {
        /// "images" or "labels".
        what: &'static str,
        /// Rank expected.
        expected: usize,
        /// Dimensions found.
        found: Vec<usize>,
    },
    /// A label outside the model's classes.
    #[error("label {label} of item {index} is not a class of this model (0..={})", classes.saturating_sub(1))]
    Label {
        /// Item index.
        index: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        classes: usize,
    },
}

/// Packetizing or reassembling that cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// An MTU outside what the packet format allows.
    #[error("MTU {mtu} is outside {min}..={max} bytes")]
    Mtu {
        /// Requested MTU.
        mtu: usize,
        /// Smallest (a header packet must fit).
        min: usize,
        /// Largest (16-bit payload length).
        max: usize,
    },
    /// Not even one latent position fits in a packet.
    #[error("MTU {mtu} is too small for one latent position ({channels} channels) per packet")]
    MtuTooSmall {
        /// Requested MTU.
        mtu: usize,
        /// Latent channels per position.
        channels: u16,
    },
    /// The stream would need more packets than a receiver's window holds.
    #[error("at MTU {mtu} the image needs more than {limit} packets; use a larger MTU")]
    TooManyPackets {
        /// Requested MTU.
        mtu: usize,
        /// The packet limit.
        limit: usize,
    },
    /// No header packet arrived, so nothing can be decoded.
    #[error("no valid header packet among {packets} packets (the first and last packet carry it)")]
    NoHeader {
        /// Packets read.
        packets: usize,
    },
    /// A `.lat` was asked for, but slices are missing.
    #[error(
        "incomplete stream: missing packets {missing:?}; write an image instead to decode with the lost slices concealed"
    )]
    Incomplete {
        /// Sequence numbers missing.
        missing: Vec<u16>,
    },
    /// Output directory that already holds packets.
    #[error("{}: already holds packet files; choose a new or empty directory", dir.display())]
    OutputNotEmpty {
        /// The directory.
        dir: PathBuf,
    },
}

/// A frame stream (Y4M or raw) that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Reading the stream failed.
    #[error("reading frames")]
    Io(#[source] std::io::Error),
    /// The stream ended inside a frame.
    #[error("frame {frame} is cut short: {got} of {expected} bytes")]
    Truncated {
        /// 1-based frame number.
        frame: u64,
        /// Bytes that arrived.
        got: usize,
        /// Bytes a frame has.
        expected: usize,
    },
    /// A malformed Y4M header or frame line, or a bad `--raw` size.
    #[error("bad frame stream: {0}")]
    BadHeader(String),
    /// A chroma layout or pixel format that is not supported.
    #[error(
        "unsupported {0}: Y4M streams may be C420jpeg/420paldv/420mpeg2/420, C444 or Cmono (8-bit); raw frames gray8, rgb24 or yuv420p"
    )]
    UnsupportedChroma(String),
    /// A frame size over the limit.
    #[error(transparent)]
    Limit(LimitError),
}

/// A precision or stage name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrecisionError {
    /// Not f32, f16, int8 or auto.
    #[error("unknown precision {0:?} (expected one of f32, f16, int8, auto)")]
    Unknown(String),
    /// Not encode, decode or denoise.
    #[error("unknown stage {0:?} (expected one of encode, decode, denoise)")]
    UnknownStage(String),
}
