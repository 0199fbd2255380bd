//! What the CPU is and how it is doing: model, SIMD features, cores, clock, temperature and
//! throttling (Linux sysfs; `vcgencmd` on a Raspberry Pi when present), and the process's peak
//! memory.

use serde::Serialize;

/// The CPU as the benchmark reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Model name (x86 `model name`, or the ARM core from its part number).
    pub model: String,
    /// SIMD features that matter to the kernels, as detected at run time.
    pub features: Vec<&'static str>,
    /// Logical cores available to this process.
    pub cores: usize,
}

/// Clock and temperature at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Thermal {
    /// Mean current frequency over cores, MHz (when cpufreq is exposed).
    pub frequency_mhz: Option<f64>,
    /// Highest thermal-zone temperature, °C (when exposed).
    pub temperature_c: Option<f64>,
    /// `vcgencmd get_throttled` bits (a Raspberry Pi; 0 = never throttled).
    pub pi_throttled: Option<u32>,
}

impl Cpu {
    /// Probes the running CPU.
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| cpuinfo_field(&cpuinfo, name).map(str::to_string);
        let model = field("model name")
            .or_else(|| field("CPU part").map(|p| arm_core(&p)))
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Self {
            model,
            features: features(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Cpu {
    /// Model and features in one line: what identifies this CPU's measurements.
    pub fn id(&self) -> String {
        format!("{} ({})", self.model, self.features.join(" "))
    }
}

/// The value of the first `name : value` line of a `/proc/cpuinfo` text.
pub(crate) fn cpuinfo_field<'a>(cpuinfo: &'a str, name: &str) -> Option<&'a str> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
}

/// The ARM core behind a `CPU part` number.
fn arm_core(part: &str) -> String {
    let name = match part {
        "0xd03" => "Cortex-A53 (Raspberry Pi 3)",
        "0xd08" => "Cortex-A72 (Raspberry Pi 4)",
        "0xd0b" => "Cortex-A76 (Raspberry Pi 5)",
        "0xd05" => "Cortex-A55",
        "0xd0c" => "Neoverse-N1",
        _ => return format!("ARM core part {part}"),
    };
    name.to_string()
}

#[cfg(target_arch = "x86_64")]
fn features() -> Vec<&'static str> {
    let mut v = Vec::new();
    macro_rules! check {
        ($($f:tt),*) => { $( if std::arch::is_x86_feature_detected!($f) { v.push($f); } )* };
    }
    check!(
        "sse4.1",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512vnni",
        "avxvnni"
    );
    v
}

#[cfg(target_arch = "aarch64")]
fn features() -> Vec<&'static str> {
    let mut v = Vec::new();
    macro_rules! check {
        ($($f:tt),*) => { $( if std::arch::is_aarch64_feature_detected!($f) { v.push($f); } )* };
    }
    check!("neon", "fp16", "dotprod", "i8mm", "bf16");
    v
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn features() -> Vec<&'static str> {
    Vec::new()
}

impl Thermal {
    /// Reads clock, temperature and the Pi's throttle flags now.
    pub fn now() -> Self {
        let read_num = |p: &std::path::Path| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
        };
        let glob = |dir: &str, prefix: &str, file: &str| -> Vec<f64> {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .filter_map(|e| read_num(&e.path().join(file)))
                .collect()
        };
        let freqs = glob("/sys/devices/system/cpu", "cpu", "cpufreq/scaling_cur_freq");
        let temps = glob("/sys/class/thermal", "thermal_zone", "temp");
        let pi_throttled = std::process::Command::new("vcgencmd")
            .arg("get_throttled")
            .output()
            .ok()
            .and_then(|o| {
                let s = String::from_utf8_lossy(&o.stdout).into_owned();
                let hex = s.trim().strip_prefix("throttled=0x")?.to_string();
                u32::from_str_radix(&hex, 16).ok()
            });
        Self {
            frequency_mhz: (!freqs.is_empty())
                .then(|| freqs.iter().sum::<f64>() / freqs.len() as f64 / 1000.0),
            temperature_c: temps.into_iter().reduce(f64::max).map(|t| t / 1000.0),
            pi_throttled,
        }
    }
}

/// Why a run may have been throttled, comparing the state before and after it.
pub fn throttle_warning(before: &Thermal, after: &Thermal) -> Option<String> {
    if let Some(bits) = after.pi_throttled.filter(|&b| b != 0) {
        return Some(format!(
            "vcgencmd reports throttling (0x{bits:x}): under-voltage or heat; timings are not trustworthy"
        ));
    }
    if let (Some(a), Some(b)) = (before.frequency_mhz, after.frequency_mhz)
        && b < 0.9 * a
    {
        return Some(format!(
            "CPU clock fell from {a:.0} to {b:.0} MHz during the run: likely thermal throttling"
        ));
    }
    if after.temperature_c.is_some_and(|t| t >= 80.0) {
        return Some("CPU at 80 °C or more: a Raspberry Pi throttles from 80–85 °C".into());
    }
    None
}

/// Resets the process's peak-RSS counter (Linux; a no-op elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since start or the last [`reset_peak_rss`], in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
