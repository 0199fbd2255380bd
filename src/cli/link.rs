//! `send` and `receive`: `.lat` packets over UDP. The sender paces datagrams to a link rate and
//! can simulate a lossy link (drops, duplicates, reordering, seeded); the receiver puts each
//! frame back together, conceals what did not arrive, and writes a picture, a Y4M stream or
//! numbered PNGs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use image::{DynamicImage, RgbImage};
use latent_codec::codec::packets;
use latent_codec::denoise::{self, DEFAULT_TILE, Denoiser, Source};
use latent_codec::io::frames::{Chroma, Format, Frame, Y4mHeader, write_y4m_frame};
use latent_codec::io::imageio::{self, is_gray};
use latent_codec::io::output;
use latent_codec::report::metrics;
use latent_codec::runtime::precision::Stage;
use latent_codec::{Codec, EntropyModel, Limits};
use latent_wire::container::MAGIC;
use latent_wire::packet::{MAX_PACKET, Packet};
use serde_json::json;

use super::models::Codecs;
use super::{ModelOpts, json_line};

/// Options of `latent send`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// A .lat file, a picture (compressed first) or a Y4M stream (file, or - for stdin; every
    /// frame compressed).
    input: PathBuf,
    /// The receiver.
    #[arg(long, value_name = "HOST:PORT")]
    to: String,
    /// Largest datagram in bytes, at least 68.
    #[arg(long, value_name = "BYTES", default_value_t = 1200, value_parser = super::parse_mtu)]
    mtu: usize,
    /// Pace datagrams to this link rate in kbit/s (default: as fast as the socket takes them).
    #[arg(long, value_name = "KBPS", value_parser = parse_rate)]
    rate_kbps: Option<f64>,
    /// Quality of pictures and frames (default: the model's).
    #[arg(long, value_name = "Q")]
    quality: Option<u8>,
    /// Denoise pictures and frames with the embedded denoiser before compressing them.
    #[arg(long)]
    denoise: bool,
    /// Send the frame's header packet again after every N slice packets (besides its two
    /// copies, first and last), so that losing those does not lose the frame; 0: never.
    #[arg(long, value_name = "N", default_value_t = 16)]
    header_every: usize,
    /// Simulated link: drop each datagram with this probability.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    drop: f64,
    /// Simulated link: send a datagram twice with this probability.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    duplicate: f64,
    /// Simulated link: hold a datagram back until after the next one with this probability.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    reorder: f64,
    /// Seed of the simulated link.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Id of the first frame (then one more per frame; default: from the clock), so that a
    /// receiver tells this stream's frames from an earlier one's.
    #[arg(long, value_name = "ID")]
    first_id: Option<u16>,
    #[command(flatten)]
    model: ModelOpts,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Options of `latent receive`.
#[derive(clap::Args)]
pub struct ReceiveArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: String,
    /// A picture (the first frame; the receiver then ends), a .y4m stream, or an existing
    /// directory for numbered PNGs.
    #[arg(short, long)]
    output: PathBuf,
    /// Close a frame after this long without packets, concealing what is missing; the receiver
    /// ends after this long without packets once it has written a frame.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    idle_ms: u64,
    /// End after this many frames.
    #[arg(long, value_name = "N")]
    frames: Option<u64>,
    /// The original picture or Y4M stream: the summary gives each frame's PSNR against it.
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
    #[command(flatten)]
    model: ModelOpts,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability in 0..=1")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!("{s:?} is not a positive rate")),
    }
}

/// A seeded xorshift64* generator: the same link decisions for a seed on every machine.
struct Link {
    state: u64,
}

impl Link {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed: nearby seeds start far apart.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the sender did, for its summary.
#[derive(Default)]
struct Sent {
    frames: u64,
    packets: u64,
    datagrams: u64,
    bytes: u64,
    dropped: u64,
    duplicated: u64,
    reordered: u64,
    lat_bytes: u64,
    header_repeats: u64,
}

/// A UDP socket paced to a rate, behind a simulated link.
struct Sender<'a> {
    socket: UdpSocket,
    args: &'a SendArgs,
    link: Link,
    held: Option<Vec<u8>>,
    start: Instant,
    sent: Sent,
}

impl Sender<'_> {
    fn put(&mut self, datagram: &[u8]) -> Result<()> {
        if let Some(kbps) = self.args.rate_kbps {
            let due = Duration::from_secs_f64(self.sent.bytes as f64 * 8.0 / (kbps * 1e3));
            if let Some(wait) = due.checked_sub(self.start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        self.socket
            .send(datagram)
            .with_context(|| format!("sending to {}", self.args.to))?;
        self.sent.datagrams += 1;
        self.sent.bytes += datagram.len() as u64;
        Ok(())
    }

    /// Sends one packet through the simulated link.
    fn packet(&mut self, packet: Vec<u8>) -> Result<()> {
        self.sent.packets += 1;
        if self.link.next() < self.args.drop {
            self.sent.dropped += 1;
            return Ok(());
        }
        if self.held.is_none() && self.link.next() < self.args.reorder {
            self.sent.reordered += 1;
            self.held = Some(packet);
            return Ok(());
        }
        self.put(&packet)?;
        if self.link.next() < self.args.duplicate {
            self.sent.duplicated += 1;
            self.put(&packet)?;
        }
        if let Some(held) = self.held.take() {
            self.put(&held)?;
        }
        Ok(())
    }

    /// Cuts `lat` into packets with frame id `id` and sends them.
    fn frame(&mut self, model: &EntropyModel, lat: &[u8], id: u16) -> Result<()> {
        let p = packets::packetize_as(model, lat, self.args.mtu, id)?;
        let every = self.args.header_every;
        let header = p.packets[0].clone();
        for (i, packet) in p.packets.into_iter().enumerate() {
            self.packet(packet)?;
            if every > 0 && i > 0 && i % every == 0 {
                self.sent.header_repeats += 1;
                self.packet(header.clone())?;
            }
        }
        self.sent.frames += 1;
        self.sent.lat_bytes += lat.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<Sent> {
        if let Some(held) = self.held.take() {
            self.put(&held)?;
        }
        Ok(self.sent)
    }
}

/// Runs `latent send`.
pub fn send(args: &SendArgs) -> Result<String> {
    let is_stdin = args.input.as_os_str() == "-";
    let reader: Box<dyn Read> = if is_stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.input)
                .with_context(|| format!("cannot read {}", args.input.display()))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let head = reader.fill_buf().context("reading the input")?.to_vec();
    let limits = args.model.limits();
    let socket = UdpSocket::bind("0.0.0.0:0").context("opening a UDP socket")?;
    let to = args
        .to
        .to_socket_addrs()
        .with_context(|| format!("--to {}", args.to))?
        .next()
        .with_context(|| format!("--to {}: no address", args.to))?;
    socket
        .connect(to)
        .with_context(|| format!("--to {}", args.to))?;
    let mut id = args.first_id.unwrap_or_else(clock_id);
    let mut sender = Sender {
        socket,
        args,
        link: Link::new(args.seed),
        held: None,
        start: Instant::now(),
        sent: Sent::default(),
    };
    if head.starts_with(&MAGIC) {
        let lat = limits.read_all(&mut reader, &args.input, head.len())?;
        let entropy = args.model.entropy_for_lat(&lat)?;
        sender.frame(&entropy, &lat, id)?;
    } else {
        let codecs = Codecs::new(&args.model, Stage::Encode);
        // The quality asked for, checked against the model a picture gets.
        let pick = |gray: bool| -> Result<(&Codec, u8)> {
            let codec = codecs.for_gray(gray)?;
            let quality = args.quality.unwrap_or(codec.default_quality());
            codec.bundle().prior.quality(quality)?;
            Ok((codec, quality))
        };
        let denoiser = args
            .denoise
            .then(|| {
                let precision = args.model.precision.resolve(Stage::Denoise);
                Denoiser::load(
                    Source::Embedded(denoise::Embedded::Fast),
                    args.model.threads(),
                    precision,
                    &limits,
                )
            })
            .transpose()?;
        // Gray frames and pictures stay gray (the codec then codes them as gray).
        let clean = |picture: DynamicImage| -> Result<DynamicImage> {
            Ok(match &denoiser {
                Some(d) => d.denoise_image(&picture, DEFAULT_TILE)?,
                None => picture,
            })
        };
        if head.starts_with(b"YUV4MPEG2") {
            let header = Y4mHeader::read(&mut reader, &limits)?;
            let (codec, quality) = pick(header.format.chroma == Chroma::Mono)?;
            for index in 0u64.. {
                let Some(frame) = header.read_frame(&mut reader, index)? else {
                    break;
                };
                let encoded = codec.encode(&clean(frame.to_image())?, quality)?;
                sender.frame(codec.entropy(), &encoded.bytes, id)?;
                id = id.wrapping_add(1);
            }
        } else if is_stdin {
            bail!("stdin is neither a .lat file nor a Y4M stream");
        } else {
            let picture = imageio::read(&args.input, &limits)?;
            let (codec, quality) = pick(is_gray(&picture))?;
            let encoded = codec.encode(&clean(picture)?, quality)?;
            sender.frame(codec.entropy(), &encoded.bytes, id)?;
        }
    }
    let seconds = sender.start.elapsed().as_secs_f64();
    let s = sender.finish()?;
    Ok(if args.json {
        json_line(json!({
            "input": args.input, "to": args.to, "mtu": args.mtu, "frames": s.frames,
            "packets": s.packets, "datagrams": s.datagrams, "bytes": s.bytes,
            "lat_bytes": s.lat_bytes, "dropped": s.dropped, "duplicated": s.duplicated,
            "reordered": s.reordered, "header_repeats": s.header_repeats, "seconds": seconds,
            "kbps": s.bytes as f64 * 8.0 / 1e3 / seconds.max(1e-9),
        }))
    } else {
        let mut text = format!(
            "{} -> {}: {} frames, {} packets in {} datagrams, {} bytes ({} of .lat) in {seconds:.2} s",
            args.input.display(),
            args.to,
            s.frames,
            s.packets,
            s.datagrams,
            s.bytes,
            s.lat_bytes
        );
        if s.dropped + s.duplicated + s.reordered > 0 {
            let _ = write!(
                text,
                "; simulated link: {} dropped, {} duplicated, {} reordered",
                s.dropped, s.duplicated, s.reordered
            );
        }
        text.push('\n');
        text
    })
}

/// A frame id to start from that differs between runs.
fn clock_id() -> u16 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u16)
}

/// The packets of one frame as they arrive.
#[derive(Default)]
struct Pending {
    packets: Vec<(String, Vec<u8>)>,
    sequences: BTreeSet<u16>,
    total: u16,
}

impl Pending {
    fn is_complete(&self) -> bool {
        self.total > 0 && self.sequences.len() == usize::from(self.total)
    }
}

/// Where received frames go.
enum Sink {
    /// One picture: the first frame.
    Picture(PathBuf),
    /// A Y4M stream, opened at the first frame.
    Y4m {
        path: PathBuf,
        open: Option<(output::Pending, BufWriter<std::fs::File>, Format)>,
    },
    /// Numbered PNGs in a directory.
    Pngs(PathBuf),
}

impl Sink {
    fn of(path: &Path) -> Self {
        if path.is_dir() {
            Sink::Pngs(path.to_path_buf())
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("y4m"))
        {
            Sink::Y4m {
                path: path.to_path_buf(),
                open: None,
            }
        } else {
            Sink::Picture(path.to_path_buf())
        }
    }

    fn write(&mut self, index: u64, image: &DynamicImage) -> Result<()> {
        match self {
            Sink::Picture(path) => output::write(path, &imageio::encode(image, path)?)?,
            Sink::Pngs(dir) => {
                let path = dir.join(format!("frame-{index:05}.png"));
                output::write(&path, &imageio::encode(image, &path)?)?;
            }
            Sink::Y4m { path, open } => {
                let rgb = image.to_rgb8();
                if open.is_none() {
                    let format = Format {
                        width: rgb.width() as usize,
                        height: rgb.height() as usize,
                        chroma: Chroma::C420,
                    };
                    let header = Y4mHeader {
                        format,
                        line: format!(
                            "YUV4MPEG2 W{} H{} F25:1 Ip A1:1 C420jpeg",
                            format.width, format.height
                        ),
                        fps: Some(25.0),
                    };
                    let file = output::create(path)?;
                    let mut out = BufWriter::new(file.file().try_clone()?);
                    header.write(&mut out).context("writing the Y4M header")?;
                    *open = Some((file, out, format));
                }
                let Some((_, out, format)) = open else {
                    unreachable!("opened above")
                };
                if (rgb.width() as usize, rgb.height() as usize) != (format.width, format.height) {
                    bail!(
                        "frame {index} is {}x{}, the stream {}x{}",
                        rgb.width(),
                        rgb.height(),
                        format.width,
                        format.height
                    );
                }
                let mut frame = Frame {
                    format: *format,
                    data: vec![0; format.frame_len()],
                };
                frame.set_rgb8(&rgb);
                write_y4m_frame(out, &frame).context("writing frames")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if let Sink::Y4m {
            open: Some((file, mut out, _)),
            ..
        } = self
        {
            out.flush().context("writing frames")?;
            drop(out);
            file.commit()?;
        }
        Ok(())
    }
}

/// The reference frames for PSNR: one picture, or a Y4M stream read along.
enum Reference {
    Picture(RgbImage),
    Y4m(Y4mHeader, BufReader<std::fs::File>, u64),
}

impl Reference {
    fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut reader = BufReader::new(file);
        if reader
            .fill_buf()
            .with_context(|| format!("cannot read {}", path.display()))?
            .starts_with(b"YUV4MPEG2")
        {
            let header = Y4mHeader::read(&mut reader, limits)?;
            Ok(Reference::Y4m(header, reader, 0))
        } else {
            Ok(Reference::Picture(imageio::read(path, limits)?.to_rgb8()))
        }
    }

    /// The reference of frame `index` (frames are asked for in order).
    fn frame(&mut self, index: u64) -> Result<Option<RgbImage>> {
        match self {
            Reference::Picture(rgb) => Ok((index == 0).then(|| rgb.clone())),
            Reference::Y4m(header, reader, next) => {
                let mut found = None;
                while *next <= index {
                    found = header.read_frame(reader, *next)?;
                    *next += 1;
                    if found.is_none() {
                        break;
                    }
                }
                Ok(found.filter(|_| *next == index + 1).map(|f| f.to_rgb8()))
            }
        }
    }
}

/// What the receiver saw, for its summary.
#[derive(Default)]
struct Received {
    datagrams: u64,
    hostile: u64,
    late: u64,
    duplicates: u64,
    refused: u64,
    packets_missing: u64,
    frames: u64,
    frames_repeated: u64,
    /// Frames without a header packet and no frame before them to repeat.
    frames_lost: u64,
    concealed: Vec<f64>,
    psnr: Vec<f64>,
}

/// The receiving end: frames by id (widened past 16 bits), the sink, the reference.
struct Receiver<'a> {
    codecs: &'a Codecs<'a>,
    sink: Sink,
    reference: Option<Reference>,
    pending: BTreeMap<i64, Pending>,
    /// The newest frame id closed.
    closed: Option<i64>,
    /// The newest id seen, against which 16-bit ids are widened.
    newest: Option<i64>,
    previous: Option<DynamicImage>,
    got: Received,
}

impl Receiver<'_> {
    /// `id` as the frame number nearest the newest seen.
    fn widen(&self, id: u16) -> i64 {
        match self.newest {
            None => i64::from(id),
            Some(n) => n + i64::from(id.wrapping_sub(n as u16) as i16),
        }
    }

    fn datagram(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.got.datagrams += 1;
        let Ok(packet) = Packet::parse(&bytes) else {
            self.got.hostile += 1;
            return Ok(());
        };
        let header = *packet.header();
        let id = self.widen(header.stream);
        if self.closed.is_some_and(|c| id <= c) {
            self.got.late += 1;
            return Ok(());
        }
        self.newest = Some(self.newest.map_or(id, |n| n.max(id)));
        let frame = self.pending.entry(id).or_default();
        frame.total = header.total;
        if !frame.sequences.insert(header.sequence) {
            self.got.duplicates += 1;
            return Ok(());
        }
        frame
            .packets
            .push((format!("frame {id} packet {}", header.sequence), bytes));
        // Frames close in order: the oldest once complete, and any older than the one before
        // the newest (its packets are past).
        while let Some((&oldest, first)) = self.pending.first_key_value() {
            let newest = self.newest.unwrap_or(oldest);
            if first.is_complete() || oldest < newest - 1 {
                self.close_oldest()?;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Takes datagrams from the reading thread until `limit` frames are written, or until it
    /// has been `idle` with no frame pending (the first datagram is waited for as long as it
    /// takes); `idle` also closes the frames under way.
    fn run(
        &mut self,
        datagrams: &mpsc::Receiver<io::Result<Vec<u8>>>,
        idle: Duration,
        limit: Option<u64>,
    ) -> Result<()> {
        while limit.is_none_or(|n| self.got.frames < n) {
            let next = match self.newest {
                Some(_) => datagrams.recv_timeout(idle),
                None => datagrams.recv().map_err(RecvTimeoutError::from),
            };
            match next {
                Ok(Ok(d)) if d.len() > MAX_PACKET => {
                    self.got.datagrams += 1;
                    self.got.hostile += 1;
                }
                Ok(Ok(d)) => self.datagram(d)?,
                Ok(Err(e)) => return Err(e).context("receiving"),
                Err(RecvTimeoutError::Timeout) => {
                    if self.pending.is_empty() {
                        break;
                    }
                    while !self.pending.is_empty() && limit.is_none_or(|n| self.got.frames < n) {
                        self.close_oldest()?;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => bail!("receiving: the reading thread ended"),
            }
        }
        Ok(())
    }

    fn close_oldest(&mut self) -> Result<()> {
        let Some((id, frame)) = self.pending.pop_first() else {
            return Ok(());
        };
        self.closed = Some(id);
        let index = self.got.frames;
        // No header packet: no model to pick, and nothing to draw.
        let codec = match packets::header_of(&frame.packets) {
            Some(h) => Some(self.codecs.for_fingerprint(h.fingerprint)?),
            None => None,
        };
        let reassembled =
            codec.and_then(|c| Some((c, packets::reassemble(c.entropy(), &frame.packets).ok()?)));
        let image = match reassembled {
            Some((codec, r)) => {
                self.got.refused += r.rejected.len() as u64;
                self.got.packets_missing += r.missing.len() as u64;
                self.got
                    .concealed
                    .push(r.lost_positions() as f64 / r.positions() as f64);
                let latent = r.concealed_latent(codec.entropy());
                codec.decode_latent(r.header, latent)?.image
            }
            // Both header packets lost: the frame cannot be drawn; a stream repeats the one
            // before so that every frame is still there.
            None => match &self.previous {
                Some(previous) => {
                    self.got.frames_repeated += 1;
                    self.got.packets_missing +=
                        u64::from(frame.total).saturating_sub(frame.sequences.len() as u64);
                    previous.clone()
                }
                None => {
                    self.got.frames_lost += 1;
                    return Ok(());
                }
            },
        };
        if let Some(reference) = &mut self.reference
            && let Some(want) = reference.frame(index)?
            && want.dimensions() == (image.width(), image.height())
        {
            self.got
                .psnr
                .push(metrics::psnr(want.as_raw(), image.to_rgb8().as_raw()));
        }
        self.sink.write(index, &image)?;
        self.got.frames += 1;
        self.previous = Some(image);
        Ok(())
    }
}

/// Datagrams the reading thread may hold before it waits for the frames to be decoded (at most
/// 64 KiB each).
const QUEUED_DATAGRAMS: usize = 1024;

/// Reads datagrams off `socket` into `queue` until `stop`, in a thread of its own: a frame being
/// decoded must not leave the next frame's datagrams to overflow the socket's buffer.
fn read_datagrams(socket: &UdpSocket, queue: SyncSender<io::Result<Vec<u8>>>, stop: &AtomicBool) {
    let mut buf = vec![0u8; MAX_PACKET + 1];
    if let Err(e) = socket.set_read_timeout(Some(Duration::from_millis(50))) {
        let _ = queue.send(Err(e));
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let datagram = match socket.recv(&mut buf) {
            Ok(n) => Ok(buf[..n].to_vec()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => Err(e),
        };
        let failed = datagram.is_err();
        if queue.send(datagram).is_err() || failed {
            return;
        }
    }
}

/// Runs `latent receive`.
pub fn receive(args: &ReceiveArgs) -> Result<String> {
    let limits = args.model.limits();
    let codecs = Codecs::new(&args.model, Stage::Decode);
    let reference = args
        .reference
        .as_deref()
        .map(|p| Reference::open(p, &limits))
        .transpose()?;
    let socket =
        UdpSocket::bind(&args.listen).with_context(|| format!("--listen {}", args.listen))?;
    eprintln!("listening on {}", socket.local_addr()?);
    let single = matches!(Sink::of(&args.output), Sink::Picture(_));
    let mut rx = Receiver {
        codecs: &codecs,
        sink: Sink::of(&args.output),
        reference,
        pending: BTreeMap::new(),
        closed: None,
        newest: None,
        previous: None,
        got: Received::default(),
    };
    let idle = Duration::from_millis(args.idle_ms.max(1));
    let limit = if single { Some(1) } else { args.frames };
    let start = Instant::now();
    let stop = AtomicBool::new(false);
    let (queue, datagrams) = mpsc::sync_channel(QUEUED_DATAGRAMS);
    std::thread::scope(|scope| {
        let (socket, stop) = (&socket, &stop);
        scope.spawn(move || read_datagrams(socket, queue, stop));
        let received = rx.run(&datagrams, idle, limit);
        stop.store(true, Ordering::Relaxed);
        drop(datagrams);
        received
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let got = std::mem::take(&mut rx.got);
    rx.sink.finish()?;
    if got.frames == 0 {
        bail!(
            "no frame could be put together from {} datagrams ({} hostile, {} late, {} frames \
             with both header packets lost)",
            got.datagrams,
            got.hostile,
            got.late,
            got.frames_lost
        );
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    Ok(if args.json {
        json_line(json!({
            "output": args.output, "frames": got.frames, "frames_repeated": got.frames_repeated,
            "frames_lost": got.frames_lost,
            "datagrams": got.datagrams, "hostile": got.hostile, "late": got.late,
            "duplicates": got.duplicates,
            "refused": got.refused, "packets_missing": got.packets_missing,
            "concealed_fraction": mean(&got.concealed), "psnr": mean(&got.psnr),
            "psnr_per_frame": got.psnr, "seconds": seconds,
        }))
    } else {
        let mut text = format!(
            "{} frames -> {}; {} datagrams: {} packets missing, {} duplicates, {} hostile, {} late, \
             {} refused",
            got.frames,
            args.output.display(),
            got.datagrams,
            got.packets_missing,
            got.duplicates,
            got.hostile,
            got.late,
            got.refused
        );
        if let Some(c) = mean(&got.concealed) {
            let _ = write!(text, "; {:.1} % of the latent concealed", 100.0 * c);
        }
        if got.frames_lost > 0 {
            let _ = write!(text, "; {} frames lost (header lost)", got.frames_lost);
        }
        if got.frames_repeated > 0 {
            let _ = write!(
                text,
                "; {} frames repeated (header lost)",
                got.frames_repeated
            );
        }
        if let Some(p) = mean(&got.psnr) {
            let _ = write!(text, "; PSNR {p:.2} dB");
        }
        text.push('\n');
        text
    })
}
