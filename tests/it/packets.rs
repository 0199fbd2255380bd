//! `packetize` / `depacketize` end to end: round trips at radio MTUs, loss with concealment,
//! duplicates, reordering, corruption and foreign packets.

use std::path::{Path, PathBuf};

use crate::common::{
    assert_fails_with, compressed_crop, data, embedded_layout, json, latent, psnr, s,
};
use tempfile::TempDir;

fn packetize(lat: &Path, mtu: u32, dir: &Path) -> serde_json::Value {
    json(&latent(&[
        "packetize",
        s(lat),
        "--mtu",
        &mtu.to_string(),
        "-o",
        s(dir),
        "--json",
    ]))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_is_byte_identical_at_radio_mtus() {
    let dir = TempDir::new().unwrap();
    let (png, lat) = compressed_crop(dir.path(), "crop", (160, 96, 256, 192));
    // The smallest MTU leaves 44 bytes for the symbols of a latent position: enough for this crop
    // at the lowest quality, not for noise at the highest, which is refused by name.
    let noise_png = dir.path().join("noise.png");
    let mut state = 1u32;
    image::RgbImage::from_fn(64, 64, |_, _| {
        image::Rgb(std::array::from_fn(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        }))
    })
    .save(&noise_png)
    .unwrap();
    let lat_q8 = dir.path().join("noise-q8.lat");
    let q8 = [
        "compress",
        s(&noise_png),
        "-o",
        s(&lat_q8),
        "--quality",
        "8",
    ];
    assert!(latent(&q8).status.success());
    let (channels, _) = embedded_layout();
    let tiny = dir.path().join("tiny");
    assert_fails_with(
        &latent(&["packetize", s(&lat_q8), "--mtu", "68", "-o", s(&tiny)]),
        &format!("MTU 68 is too small for one latent position ({channels} channels) per packet"),
    );
    let lat_q1 = dir.path().join("crop-q1.lat");
    let q1 = ["compress", s(&png), "-o", s(&lat_q1), "--quality", "1"];
    assert!(latent(&q1).status.success());
    for (mtu, lat) in [(68, &lat_q1), (222, &lat), (244, &lat), (1200, &lat)] {
        let lat_len = std::fs::metadata(lat).unwrap().len() as usize;
        let pk = dir.path().join(format!("p{mtu}"));
        let v = packetize(lat, mtu, &pk);
        let paths = files(&pk);
        assert_eq!(paths.len() as u64, v["packets"].as_u64().unwrap());
        assert!(
            paths
                .iter()
                .all(|p| std::fs::metadata(p).unwrap().len() <= u64::from(mtu))
        );
        assert!(
            v["bytes"].as_u64().unwrap() as usize > lat_len,
            "packets add headers"
        );
        let back = dir.path().join(format!("back{mtu}.lat"));
        let v = json(&latent(&["depacketize", s(&pk), "-o", s(&back), "--json"]));
        assert_eq!(v["complete"], true);
        assert_eq!(
            std::fs::read(&back).unwrap(),
            std::fs::read(lat).unwrap(),
            "MTU {mtu}"
        );
    }
}

#[test]
fn ten_percent_loss_is_concealed_within_a_few_db() {
    let dir = TempDir::new().unwrap();
    let (png, _) = compressed_crop(dir.path(), "crop", (160, 96, 256, 192));
    // What a lost packet costs grows with the bits it carried: measured near 0.8 bpp, whatever
    // quality that is for this busy crop.
    let lat = dir.path().join("crop-08.lat");
    let at = ["compress", s(&png), "-o", s(&lat), "--target-bpp", "0.8"];
    assert!(latent(&at).status.success());
    let full = dir.path().join("full.png");
    assert!(
        latent(&["decompress", s(&lat), "-o", s(&full)])
            .status
            .success()
    );
    let clean = psnr(&png, &full);
    let pk = dir.path().join("p");
    let n = packetize(&lat, 222, &pk)["packets"].as_u64().unwrap() as usize;
    let paths = files(&pk);
    // One slice packet in ten lost, spread out (never the two header copies), at each of the ten
    // placements: how much a loss costs depends on what it hits.
    let mut losses = Vec::new();
    for k in 0..10 {
        let dropped: Vec<u64> = (1..n - 1)
            .filter(|i| i % 10 == k)
            .take((n - 2) / 10)
            .map(|i| i as u64)
            .collect();
        assert!(!dropped.is_empty(), "{n} packets");
        let lossy_dir = dir.path().join(format!("lossy{k}"));
        std::fs::create_dir(&lossy_dir).unwrap();
        for (i, p) in paths.iter().enumerate() {
            if !dropped.contains(&(i as u64)) {
                std::fs::copy(p, lossy_dir.join(p.file_name().unwrap())).unwrap();
            }
        }
        let lossy = dir.path().join(format!("lossy{k}.png"));
        let v = json(&latent(&[
            "depacketize",
            s(&lossy_dir),
            "-o",
            s(&lossy),
            "--json",
        ]));
        assert_eq!(v["complete"], false);
        let missing: Vec<u64> = serde_json::from_value(v["missing"].clone()).unwrap();
        assert_eq!(missing, dropped);
        losses.push(clean - psnr(&png, &lossy));
    }
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    eprintln!("one packet in ten of {n} lost: {clean:.2} dB lossless, {losses:.1?} dB less");
    assert!(mean < 5.0, "{mean:.2} dB lost on the mean: {losses:.2?}");
    // A .lat needs every packet: a clear error, and no file.
    let out = dir.path().join("x.lat");
    let lossy_dir = dir.path().join("lossy0");
    let o = latent(&["depacketize", s(&lossy_dir), "-o", s(&out)]);
    assert_fails_with(&o, "incomplete stream: missing packets");
    assert!(!out.exists());
}

#[test]
fn duplicates_reordering_corruption_and_strangers_are_refused_one_by_one() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "crop", (160, 96, 256, 192));
    let pk = dir.path().join("p");
    packetize(&lat, 244, &pk);
    let paths = files(&pk);
    // Reorder (names decide the reading order), duplicate one, corrupt a copy of another.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    for (i, p) in paths.iter().enumerate() {
        let name = format!("{:05}.pkt", (i * 7919) % 100_000);
        std::fs::copy(p, mixed.join(name)).unwrap();
    }
    std::fs::copy(&paths[3], mixed.join("dup.pkt")).unwrap();
    let mut bad = std::fs::read(&paths[4]).unwrap();
    bad[30] ^= 0x10;
    std::fs::write(mixed.join("corrupt.pkt"), &bad).unwrap();
    std::fs::write(mixed.join("huge.pkt"), vec![0u8; 70_000]).unwrap();
    // A packet of another stream (another image).
    let other = dir.path().join("other");
    let png2 = dir.path().join("o.png");
    image::RgbImage::from_pixel(64, 48, image::Rgb([20, 90, 200]))
        .save(&png2)
        .unwrap();
    let lat2 = dir.path().join("o.lat");
    assert!(
        latent(&["compress", s(&png2), "-o", s(&lat2)])
            .status
            .success()
    );
    packetize(&lat2, 244, &other);
    std::fs::copy(&files(&other)[1], mixed.join("zz-foreign.pkt")).unwrap();
    let back = dir.path().join("back.lat");
    let v = json(&latent(&[
        "depacketize",
        s(&mixed),
        "-o",
        s(&back),
        "--json",
    ]));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&lat).unwrap());
    let rejected: Vec<String> = serde_json::from_value(v["rejected"].clone()).unwrap();
    let has = |needle: &str| rejected.iter().any(|r| r.contains(needle));
    assert!(has("corrupt.pkt: packet CRC mismatch"), "{rejected:?}");
    assert!(has("dup.pkt: duplicate packet 3"), "{rejected:?}");
    assert!(has("zz-foreign.pkt: packet of stream"), "{rejected:?}");
    assert!(has("huge.pkt: larger than any packet"), "{rejected:?}");
}

#[test]
fn bad_requests_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let (_, lat) = compressed_crop(dir.path(), "crop", (160, 96, 256, 192));
    let pk = dir.path().join("p");
    let o = latent(&["packetize", s(&lat), "--mtu", "40", "-o", s(&pk)]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "a usage error: {stderr}");
    assert!(
        stderr.contains("not a packet size in 68..=65559 bytes"),
        "{stderr}"
    );
    assert!(!pk.exists());
    packetize(&lat, 600, &pk);
    let o = latent(&["packetize", s(&lat), "--mtu", "600", "-o", s(&pk)]);
    assert_fails_with(&o, "already holds packet files");
    for p in files(&pk) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "00000.pkt" || p == *files(&pk).last().unwrap() {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let o = latent(&["depacketize", s(&pk), "-o", s(&dir.path().join("x.png"))]);
    assert_fails_with(&o, "no valid header packet");
    let o = latent(&[
        "packetize",
        s(&dir.path().join("crop.png")),
        "--mtu",
        "600",
        "-o",
        s(&dir.path().join("q")),
    ]);
    assert_fails_with(&o, "not a .lat file");
}

#[test]
fn committed_packets_reassemble_to_the_committed_fixture() {
    // Made on x86_64 by `latent packetize tests/data/fixture.lat --mtu 222` (regenerate.sh); under qemu this
    // checks that another CPU reads the same packets into the same bytes.
    let data = data("");
    let dir = TempDir::new().unwrap();
    let back = dir.path().join("back.lat");
    let v = json(&latent(&[
        "depacketize",
        s(&data.join("packets")),
        "-o",
        s(&back),
        "--json",
    ]));
    assert_eq!(v["total"], files(&data.join("packets")).len());
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(data.join("fixture.lat")).unwrap()
    );
}

#[test]
fn packet_limits_name_their_flags() {
    let packets = data("packets");
    let dir = TempDir::new().unwrap();
    let back = dir.path().join("back.lat");
    let depacketize = |flag: &str, value: &str| {
        latent(&["depacketize", s(&packets), "-o", s(&back), flag, value])
    };
    let n = files(&packets).len();
    let out = depacketize("--max-packets", &(n - 1).to_string());
    assert_fails_with(
        &out,
        &format!("packet stream: {n} packets, over the limit of {}", n - 1),
    );
    let out = depacketize("--max-input-bytes", "300");
    assert_fails_with(
        &out,
        "bytes, over the limit of 300 (raise it with --max-input-bytes)",
    );
    assert!(!back.exists());
}
