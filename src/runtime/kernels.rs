//! Which of tract's matrix-kernel families this process uses, decided once, before tract first
//! probes the CPU (its instruction-set probe is cached for the process).
//!
//! On AMD Zen 4 (family 0x19 with AVX-512) a 512-bit instruction runs on 256-bit units in two
//! halves. There tract's AVX-512 f32 kernels (`avx512_mmm_f32_16x12`, `_32x6`) ran our encoder
//! 1.25–1.35x and our decoder 1.2x slower than its 256-bit FMA kernels (`fma_mmm_f32_16x6`,
//! `_24x4`), measured with `latent bench` on an EPYC at 768x512 on 1 and 2 threads. So on Zen 4
//! this process takes AVX-512 out of tract's kernel pool, unless int8 graphs will run: their VNNI
//! kernels need AVX-512, and without them int8 was 1.45–1.7x slower. Other CPUs keep tract's choice.
//! `TRACT_CPU_ISA` in the environment overrides this (tract reads it before this setting), and on
//! aarch64 so does `TRACT_CPU_AARCH64_KIND` (e.g. `a53` for a Cortex-A53's kernels under qemu,
//! where tract reads the host's /proc/cpuinfo).

use std::sync::OnceLock;

use tract_onnx::tract_core::knobs;

/// The kernel families tract may pick from in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSet {
    /// Everything the CPU has (tract's own choice).
    Native,
    /// What `TRACT_CPU_ISA` (or `TRACT_CPU_AARCH64_KIND` on aarch64) in the environment makes of it.
    FromEnvironment,
    /// AVX-512 left out: 256-bit FMA kernels for f32 (AMD Zen 4).
    NoAvx512,
}

impl KernelSet {
    /// A one-line description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            KernelSet::Native => "tract's choice for this CPU",
            KernelSet::FromEnvironment => {
                "tract's choice, as TRACT_CPU_ISA / TRACT_CPU_AARCH64_KIND edit it"
            }
            KernelSet::NoAvx512 => {
                "256-bit FMA (AVX-512 left out: AMD Zen 4 runs it in two halves, slower here)"
            }
        }
    }
}

/// Decides the kernel set for this process on the first call (later calls return that first
/// decision): `int8` says whether int8 graphs will run. Call it before building any plan.
pub fn select(int8: bool) -> KernelSet {
    static CHOICE: OnceLock<KernelSet> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        let aarch64_kind =
            cfg!(target_arch = "aarch64") && std::env::var_os("TRACT_CPU_AARCH64_KIND").is_some();
        if std::env::var_os("TRACT_CPU_ISA").is_some() || aarch64_kind {
            return KernelSet::FromEnvironment;
        }
        if int8 || !is_zen4() {
            return KernelSet::Native;
        }
        match knobs::set_config_global("TRACT_CPU_ISA", "-avx512f") {
            Ok(()) => KernelSet::NoAvx512,
            Err(_) => KernelSet::Native,
        }
    })
}

/// AMD family 0x19 with AVX-512: Zen 4 (Zen 3, the same family, has no AVX-512).
#[cfg(target_arch = "x86_64")]
fn is_zen4() -> bool {
    use std::arch::x86_64::__cpuid;
    let vendor = __cpuid(0);
    let amd = [vendor.ebx, vendor.edx, vendor.ecx]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .eq(*b"AuthenticAMD");
    let signature = __cpuid(1).eax;
    let base = (signature >> 8) & 0xf;
    let family = if base == 0xf {
        base + ((signature >> 20) & 0xff)
    } else {
        base
    };
    amd && family == 0x19 && std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
fn is_zen4() -> bool {
    false
}

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests {
    /// The CPUID decoding agrees with what Linux reads from the same CPU.
    #[test]
    fn zen4_detection_agrees_with_proc_cpuinfo() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let field =
            |name| crate::runtime::sysinfo::cpuinfo_field(&cpuinfo, name).unwrap_or_default();
        let expected = field("vendor_id") == "AuthenticAMD"
            && field("cpu family") == "25"
            && field("flags").split(' ').any(|f| f == "avx512f");
        assert_eq!(super::is_zen4(), expected);
    }
}
