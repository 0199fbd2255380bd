//! `latent send` and `latent receive` over loopback UDP: a lossless round trip, a lossy link
//! (seeded drops, duplicates, reordering), a Y4M stream, and hostile datagrams.

use std::net::UdpSocket;
use std::path::Path;

use latent_codec::io::frames::{Chroma, Format, Frame};
use tempfile::TempDir;

use crate::common::{compressed_crop, data, json, latent, receive, s};

/// The receiver's idle time in the tests: generous, since under qemu everything is slower.
const IDLE: &str = "2000";

#[test]
fn lossless_link_gives_the_same_picture_as_decompress() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "in", (200, 120, 160, 96));
    let received = dir.path().join("received.png");
    let rx = receive(&["-o", s(&received), "--idle-ms", IDLE, "--json"]);
    let tx = json(&latent(&["send", s(&lat), "--to", &rx.addr, "--json"]));
    assert_eq!(tx["frames"], 1);
    let got = json(&rx.finish());
    assert_eq!(got["frames"], 1, "{got}");
    assert_eq!(got["packets_missing"], 0, "{got}");
    let direct = dir.path().join("direct.png");
    let out = latent(&["decompress", s(&lat), "-o", s(&direct)]);
    assert!(out.status.success());
    let (a, b) = (
        image::open(&received).unwrap(),
        image::open(&direct).unwrap(),
    );
    assert_eq!(a.to_rgb8().as_raw(), b.to_rgb8().as_raw());
}

#[test]
fn a_gray_picture_arrives_gray() {
    let dir = TempDir::new().unwrap();
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let png = dir.path().join("gray.png");
    sample
        .crop_imm(200, 120, 96, 64)
        .to_luma8()
        .save(&png)
        .unwrap();
    let received = dir.path().join("received.png");
    let rx = receive(&["-o", s(&received), "--idle-ms", IDLE, "--json"]);
    json(&latent(&["send", s(&png), "--to", &rx.addr, "--json"]));
    assert_eq!(json(&rx.finish())["frames"], 1);
    let lat = dir.path().join("gray.lat");
    let direct = dir.path().join("direct.png");
    json(&latent(&["compress", s(&png), "-o", s(&lat), "--json"]));
    json(&latent(&[
        "decompress",
        s(&lat),
        "-o",
        s(&direct),
        "--json",
    ]));
    let got = image::open(&received).unwrap();
    assert!(got.as_luma8().is_some(), "{:?}", got.color());
    assert_eq!(got, image::open(&direct).unwrap());
}

#[test]
fn lossy_link_conceals_drops_and_ignores_duplicates() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "in", (100, 100, 256, 192));
    let received = dir.path().join("received.png");
    let rx = receive(&[
        "-o",
        s(&received),
        "--idle-ms",
        IDLE,
        "--reference",
        s(&png),
        "--json",
    ]);
    let link = [
        "--mtu",
        "100",
        "--drop",
        "0.1",
        "--duplicate",
        "0.2",
        "--reorder",
        "0.2",
        "--seed",
        "7",
    ];
    let mut args = vec!["send", s(&png), "--to", &rx.addr, "--json"];
    args.extend(link);
    let tx = json(&latent(&args));
    let got = json(&rx.finish());
    for what in ["dropped", "duplicated", "reordered"] {
        assert!(tx[what].as_u64().unwrap() > 0, "{what}: {tx}");
    }
    assert_eq!(got["frames"], 1, "{got}");
    assert_eq!(got["hostile"], 0, "{got}");
    assert!(got["packets_missing"].as_u64().unwrap() > 0, "{got}");
    assert!(got["duplicates"].as_u64().unwrap() > 0, "{got}");
    let concealed = got["concealed_fraction"].as_f64().unwrap();
    assert!(concealed > 0.0 && concealed < 0.5, "{got}");
    let psnr = got["psnr"].as_f64().unwrap();
    assert!(psnr > 18.0, "{got}");
    assert_eq!(image::image_dimensions(&received).unwrap(), (256, 192));
}

/// A Y4M stream of `frames` 4:2:0 frames cut from the sample photo.
fn y4m(path: &Path, frames: u32) -> usize {
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    let format = Format {
        width: 96,
        height: 64,
        chroma: Chroma::C420,
    };
    let mut bytes = b"YUV4MPEG2 W96 H64 F25:1 Ip A1:1 C420jpeg\n".to_vec();
    for i in 0..frames {
        let crop = sample.crop_imm(100 + 40 * i, 150, 96, 64).to_rgb8();
        let mut frame = Frame {
            format,
            data: vec![0; format.frame_len()],
        };
        frame.set_rgb8(&crop);
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(&frame.data);
    }
    std::fs::write(path, bytes).unwrap();
    format.frame_len()
}

#[test]
fn a_y4m_stream_arrives_frame_by_frame() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("camera.y4m");
    let frame_len = y4m(&input, 3);
    let output = dir.path().join("received.y4m");
    let rx = receive(&[
        "-o",
        s(&output),
        "--idle-ms",
        IDLE,
        "--reference",
        s(&input),
        "--json",
    ]);
    let tx = json(&latent(&[
        "send",
        s(&input),
        "--to",
        &rx.addr,
        "--mtu",
        "300",
        "--json",
    ]));
    assert_eq!(tx["frames"], 3, "{tx}");
    let got = json(&rx.finish());
    assert_eq!(got["frames"], 3, "{got}");
    assert_eq!(got["psnr_per_frame"].as_array().unwrap().len(), 3, "{got}");
    let bytes = std::fs::read(&output).unwrap();
    let header = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert!(bytes.starts_with(b"YUV4MPEG2 W96 H64 "));
    assert_eq!(bytes.len(), header + 3 * (6 + frame_len));
}

#[test]
fn hostile_datagrams_are_counted_and_dropped() {
    let dir = TempDir::new().unwrap();
    let lat = data("fixture.lat");
    let received = dir.path().join("received.png");
    let rx = receive(&["-o", s(&received), "--idle-ms", IDLE, "--json"]);
    let packet = std::fs::read(data("packets/00001.pkt")).unwrap();
    let mut bad_crc = packet.clone();
    *bad_crc.last_mut().unwrap() ^= 0x55;
    // Sequence past the total, with a CRC that matches: absurd counts, not corruption.
    let mut absurd = packet.clone();
    absurd[6..8].copy_from_slice(&u16::MAX.to_le_bytes());
    let crc = latent_wire::checksum::crc32(&[&absurd[..20], &absurd[24..]].concat());
    absurd[20..24].copy_from_slice(&crc.to_le_bytes());
    let hostile: [&[u8]; 5] = [
        b"",
        b"not a packet at all",
        &packet[..packet.len() / 2],
        &bad_crc,
        &absurd,
    ];
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in hostile {
        socket.send_to(datagram, &rx.addr).unwrap();
    }
    json(&latent(&["send", s(&lat), "--to", &rx.addr, "--json"]));
    let got = json(&rx.finish());
    assert_eq!(got["hostile"], hostile.len(), "{got}");
    assert_eq!(got["frames"], 1, "{got}");
    assert_eq!(got["packets_missing"], 0, "{got}");
}

#[test]
fn bad_link_options_are_clear_errors() {
    let lat = data("fixture.lat");
    let out = latent(&["send", s(&lat), "--to", "127.0.0.1:9", "--drop", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a probability in 0..=1"));
    let out = latent(&["send", s(&lat), "--to", "no-port-here"]);
    crate::common::assert_fails_with(&out, "--to no-port-here");
    let out = latent(&["receive", "--listen", "256.0.0.1:1", "-o", "x.png"]);
    crate::common::assert_fails_with(&out, "--listen 256.0.0.1:1");
}

#[test]
fn sending_is_paced_to_the_link_rate() {
    let dir = TempDir::new().unwrap();
    let received = dir.path().join("received.png");
    let rx = receive(&["-o", s(&received), "--idle-ms", IDLE, "--json"]);
    let (mtu, kbps) = (200.0, 32.0);
    let tx = json(&latent(&[
        "send",
        s(&data("fixture.lat")),
        "--to",
        &rx.addr,
        "--mtu",
        "200",
        "--rate-kbps",
        "32",
        "--json",
    ]));
    json(&rx.finish());
    // Every datagram but the last waits for the bits before it to have left at the rate.
    let bytes = tx["bytes"].as_f64().unwrap();
    let least = (bytes - mtu) * 8.0 / (kbps * 1e3);
    let seconds = tx["seconds"].as_f64().unwrap();
    assert!(
        seconds >= least,
        "{seconds} s for {bytes} bytes at {kbps} kbit/s"
    );
    assert!(least > 0.1, "{tx}");
}
