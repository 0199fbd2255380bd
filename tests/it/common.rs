//! Helpers shared by the tests: running the binary, test data, comparisons.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A path under `tests/data`.
pub fn data(rel: &str) -> PathBuf {
    repo("tests/data").join(rel)
}

/// A golden file of little-endian f32s.
pub fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// The largest absolute difference of two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The embedded codec-v4 bundle, unlimited input, on `threads` threads.
pub fn embedded_codec(threads: usize, precision: latent_codec::Precision) -> latent_codec::Codec {
    latent_codec::Codec::new(
        latent_codec::ModelBundle::embedded().unwrap(),
        threads,
        precision,
        latent_codec::Limits::default(),
    )
    .unwrap()
}

/// Runs the binary; under a cross runner (`LATENT_TEST_RUNNER`, e.g. "qemu-aarch64 -cpu
/// cortex-a72", set by .ci/run) through that runner, since the host cannot exec it directly.
pub fn latent(args: &[&str]) -> Output {
    command(args).output().expect("run latent")
}

/// Runs the binary with these environment variables set.
pub fn latent_env(args: &[&str], vars: &[(&str, &Path)]) -> Output {
    command(args)
        .envs(vars.iter().copied())
        .output()
        .expect("run latent")
}

/// Runs the binary with `input` on its stdin.
pub fn latent_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latent");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    // Written from a thread: the child may fill its stdout pipe before it has read all input.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for latent");
    writer.join().expect("stdin writer");
    out
}

/// A `latent receive` running in the background, once it listens.
pub struct Listening {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    /// The address it listens on (`--listen` with port 0 picks a free one).
    pub addr: String,
}

/// Starts `latent receive --listen 127.0.0.1:0 args...` and waits until it listens.
pub fn receive(args: &[&str]) -> Listening {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut all = vec!["receive", "--listen", "127.0.0.1:0"];
    all.extend(args);
    let mut child = command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latent receive");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("receive's first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("receive said {line:?}"))
        .to_string();
    Listening {
        child,
        stderr,
        addr,
    }
}

impl Listening {
    /// Waits for the receiver to end; its output, stderr included.
    pub fn finish(mut self) -> Output {
        use std::io::Read;
        let mut rest = Vec::new();
        self.stderr
            .read_to_end(&mut rest)
            .expect("receive's stderr");
        let mut out = self.child.wait_with_output().expect("wait for receive");
        out.stderr = rest;
        out
    }
}

/// The binary with `args`; `--precision auto` sees no saved choice (an empty cache directory
/// instead of the user's), so results do not depend on what `bench --save-choice` stored.
fn command(args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_latent");
    let runner = std::env::var("LATENT_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => Command::new(bin),
    };
    cmd.args(args);
    let no_choices = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-precision-choices");
    cmd.env("LATENT_CACHE_DIR", no_choices);
    cmd
}

pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// Asserts a clean failure: exit code 1, one line on stderr containing `needle`.
pub fn assert_fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one-line error expected, got: {stderr}"
    );
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Saves the `w x h` crop at (`x`, `y`) of the sample photo as `dir/NAME.png` and compresses it
/// to `dir/NAME.lat` with the binary; returns both paths.
pub fn compressed_crop(
    dir: &Path,
    name: &str,
    (x, y, w, h): (u32, u32, u32, u32),
) -> (PathBuf, PathBuf) {
    let png = dir.join(format!("{name}.png"));
    let sample = image::load_from_memory(latent_codec::sample::SAMPLE_PNG).unwrap();
    sample.crop_imm(x, y, w, h).save(&png).unwrap();
    let lat = dir.join(format!("{name}.lat"));
    let out = latent(&["compress", s(&png), "-o", s(&lat), "--threads", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (png, lat)
}

/// PSNR-RGB between two image files.
pub fn psnr(a: &Path, b: &Path) -> f64 {
    let (a, b) = (
        image::open(a).unwrap().to_rgb8(),
        image::open(b).unwrap().to_rgb8(),
    );
    latent_codec::report::metrics::psnr(a.as_raw(), b.as_raw())
}

/// The embedded codec's latent channels and stride.
pub fn embedded_layout() -> (usize, usize) {
    let prior = latent_codec::ModelBundle::embedded().unwrap().prior;
    (prior.latent_channels, prior.stride)
}

/// Copies the embedded bundle's files into `dir/NAME`, with prior.json's name set to NAME and, when
/// `levels` is given, only those quality levels kept (the default the highest of them, unless it
/// is kept).
pub fn bundle_copy(dir: &Path, name: &str, levels: Option<&[u64]>) -> PathBuf {
    let src = repo(latent_codec::runtime::bundle::EMBEDDED_DIR);
    let dst = dir.join(name);
    std::fs::create_dir(&dst).unwrap();
    for f in ["encoder.onnx", "decoder.onnx"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let mut prior: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("prior.json")).unwrap()).unwrap();
    prior["name"] = name.into();
    if let Some(keep) = levels {
        let all = prior["qualities"].as_array_mut().unwrap();
        all.retain(|l| keep.contains(&l["quality"].as_u64().unwrap()));
        assert_eq!(
            all.len(),
            keep.len(),
            "the embedded model lacks one of {keep:?}"
        );
        if !keep.contains(&prior["default_quality"].as_u64().unwrap()) {
            prior["default_quality"] = (*keep.iter().max().unwrap()).into();
        }
    }
    std::fs::write(dst.join("prior.json"), prior.to_string()).unwrap();
    dst
}
