//! `packetize` and `depacketize`: `.lat` files over small-MTU links.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use latent_codec::codec::packets;
use latent_codec::error::PacketError;
use latent_codec::limits::Bound;
use latent_codec::runtime::precision::Stage;
use latent_codec::{EntropyModel, Limits, io::imageio, io::output};
use latent_wire::container::HEADER_LEN;
use latent_wire::packet::MAX_PACKET;
use serde_json::json;

use super::models::{self, Codecs};
use super::{ModelOpts, json_line};

/// Extension of packet files.
const EXT: &str = "pkt";

/// Writes one file per packet of `input` into `dir` (created when missing).
pub fn packetize(
    input: &Path,
    mtu: usize,
    dir: &Path,
    opts: &ModelOpts,
    json: bool,
) -> Result<String> {
    let lat = opts.limits().read_file(input)?;
    let model = opts.entropy_for_lat(&lat)?;
    let p = packets::packetize(&model, &lat, mtu).with_context(|| input.display().to_string())?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let holds_packets = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .any(|e| e.path().extension().is_some_and(|x| x == EXT));
    if holds_packets {
        return Err(PacketError::OutputNotEmpty {
            dir: dir.to_path_buf(),
        }
        .into());
    }
    for (seq, packet) in p.packets.iter().enumerate() {
        output::write(&dir.join(format!("{seq:05}.{EXT}")), packet)?;
    }
    let overhead = p.bytes() as f64 / lat.len() as f64 - 1.0;
    let largest = p.packets.iter().map(Vec::len).max().unwrap_or(0);
    Ok(if json {
        let out = json!({
            "input": input, "output": dir, "mtu": mtu, "stream": p.stream,
            "packets": p.packets.len(), "slices": p.slices(), "header_packets": 2,
            "largest_packet": largest, "bytes": p.bytes(), "lat_bytes": lat.len(),
            "overhead": overhead,
        });
        json_line(out)
    } else {
        format!(
            "{} -> {}/: {} packets (2 header + {} slices) of at most {largest} bytes (MTU {mtu}), \
             {} bytes in all, {:+.1} % over the {}-byte .lat\n",
            input.display(),
            dir.display(),
            p.packets.len(),
            p.slices(),
            p.bytes(),
            100.0 * overhead,
            lat.len()
        )
    })
}

/// A packet file's name and bytes.
type NamedPacket = (String, Vec<u8>);

/// Reads the packet files of `dir` (sorted by name; hidden files skipped). Files larger than a
/// packet can be are refused unread.
fn read_packets(dir: &Path, limits: &Limits) -> Result<(Vec<NamedPacket>, Vec<String>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    names.sort();
    // A stream has at most --max-packets packets; allow as many again in strangers/duplicates.
    let most = limits.max_packets.saturating_mul(2);
    if names.len() as u64 > most {
        anyhow::bail!(
            "{}: {} files, over the limit of {most} (twice --max-packets)",
            dir.display(),
            names.len()
        );
    }
    let mut packets = Vec::new();
    let mut oversized = Vec::new();
    // The packets are held together for reassembly: their sum is one input.
    let mut total = 0u64;
    for path in names {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let len = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        if len > MAX_PACKET as u64 {
            oversized.push(name);
            continue;
        }
        let packet = limits.read_file(&path)?;
        total += packet.len() as u64;
        limits.check(
            Bound::InputBytes,
            total,
            format_args!("packets in {}", dir.display()),
        )?;
        packets.push((name, packet));
    }
    Ok((packets, oversized))
}

/// Reassembles the packets in `dir`: a `.lat` output needs all of them; an image output is
/// decoded with lost slices concealed.
pub fn depacketize(dir: &Path, output: &Path, opts: &ModelOpts, json: bool) -> Result<String> {
    let as_lat = output
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("lat"));
    let (packets, oversized) = read_packets(dir, &opts.limits())?;
    let which = models::for_fingerprint(opts, packets::header_of(&packets).map(|h| h.fingerprint));
    // The decoder graph only for an image; the bundle is read once either way.
    let codecs = Codecs::new(opts, Stage::Decode);
    let codec = if as_lat {
        None
    } else {
        Some(codecs.get(which)?)
    };
    let owned;
    let model = match codec {
        Some(codec) => codec.entropy(),
        None => {
            owned = EntropyModel::new(opts.bundle(which)?, opts.limits());
            &owned
        }
    };
    let r = packets::reassemble(model, &packets).with_context(|| dir.display().to_string())?;
    let mut decode_ms = None;
    if let Some(codec) = codec {
        let decoded = codec.decode_latent(r.header, r.concealed_latent(model))?;
        decode_ms = Some(decoded.decode_ms);
        output::write(output, &imageio::encode(&decoded.image, output)?)?;
    } else {
        output::write(output, &r.to_lat(model)?)?;
    }
    let mut rejected: Vec<String> = r
        .rejected
        .iter()
        .map(|x| format!("{}: {}", x.name, x.error))
        .collect();
    rejected.extend(
        oversized
            .iter()
            .map(|n| format!("{n}: larger than any packet")),
    );
    let lost = r.lost_positions() as f64 / r.positions() as f64;
    let mut report = String::new();
    if json {
        let out = json!({
            "input": dir, "output": output, "packets_read": packets.len() + oversized.len(),
            "total": r.total, "missing": r.missing, "rejected": rejected,
            "complete": r.is_complete(), "concealed_fraction": lost,
            "width": r.header.width, "height": r.header.height,
            "lat_bytes": HEADER_LEN + r.payload.len as usize, "decode_ms": decode_ms,
        });
        report.push_str(&json_line(out));
    } else {
        writeln!(
            report,
            "{}/ -> {}: {} of {} packets, {}",
            dir.display(),
            output.display(),
            usize::from(r.total) - r.missing.len(),
            r.total,
            if r.is_complete() {
                "complete".to_string()
            } else {
                format!(
                    "missing {:?}: {:.1} % of the latent concealed",
                    r.missing,
                    100.0 * lost
                )
            }
        )?;
        for line in &rejected {
            writeln!(report, "  refused {line}")?;
        }
    }
    Ok(report)
}
