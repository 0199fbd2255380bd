//! Numeric precision: what a graph runs at, what this CPU runs fast, and the choice `auto` makes.
//!
//! - `f32`: the reference graphs, everywhere.
//! - `f16`: tract's f32-to-f16 translation of the f32 graph. Fast only with native f16 arithmetic
//!   (aarch64 FEAT_FP16, `asimdhp`: Cortex-A76 in a Pi 5); anywhere else tract would emulate it
//!   ~240x slower, so an explicit `f16` runs `f32` there, with a warning.
//! - `int8`: the bundles' int8 graphs (`models/quantize.py`: QLinearConv, int8 weights),
//!   run by tract's integer kernels where they use integer dot products (x86 AVX-512 VNNI or
//!   AVX-VNNI, Arm dotprod: [`int8_dot_product`]). Elsewhere tract multiplies int8 through 16-bit
//!   lanes, 32x slower than f32 measured on a Zen 3, so an explicit `int8` runs `f32` there, with a
//!   warning.
//!
//! `auto` takes what `latent bench --save-choice` measured as fastest on this CPU (a small file
//! per CPU, see [`Choices`]; every precision shipped is within its error budget, which tests
//! enforce). Before any measurement it takes f16 where f16 is native and f32 elsewhere: int8 is
//! only chosen once measured, since it was slower than f32 on x86.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use latent_wire::container::EncoderPrecision;
use serde::{Deserialize, Serialize};

use crate::error::PrecisionError;
use crate::runtime::kernels;
use crate::runtime::sysinfo::Cpu;

/// A precision a graph runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit float.
    F32,
    /// 16-bit float (native f16 arithmetic only).
    F16,
    /// 8-bit integer weights and activations.
    Int8,
}

/// A stage that runs a graph, each with its own precision choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The codec's encoder (image to latent).
    Encode,
    /// The codec's decoder (latent to image).
    Decode,
    /// The denoiser.
    Denoise,
}

impl Stage {
    /// All of them, in order.
    pub const ALL: [Stage; 3] = [Stage::Encode, Stage::Decode, Stage::Denoise];

    /// Its name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Encode => "encode",
            Stage::Decode => "decode",
            Stage::Denoise => "denoise",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Stage {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| PrecisionError::UnknownStage(s.to_string()))
    }
}

/// What a user asks for: one precision, or the measured best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The fastest precision measured on this CPU (f32 when unmeasured).
    Auto,
    /// Exactly this one (f16 falls back to f32 without native f16).
    Exactly(Precision),
}

/// A resolved request: the precision that runs, and why it differs from the request, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The precision that runs.
    pub precision: Precision,
    /// A one-line note when the request was `f16` without native f16, or `auto` (its source).
    pub note: Option<String>,
}

impl Precision {
    /// All of them, in order.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Int8];

    /// Its name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }

    /// The value recorded in a `.lat` header.
    pub fn to_wire(self) -> EncoderPrecision {
        match self {
            Precision::F32 => EncoderPrecision::F32,
            Precision::F16 => EncoderPrecision::F16,
            Precision::Int8 => EncoderPrecision::Int8,
        }
    }

    /// The precision a `.lat` header records.
    pub fn from_wire(p: EncoderPrecision) -> Self {
        match p {
            EncoderPrecision::F32 => Precision::F32,
            EncoderPrecision::F16 => Precision::F16,
            EncoderPrecision::Int8 => Precision::Int8,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Precision {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| PrecisionError::Unknown(s.to_string()))
    }
}

impl FromStr for Request {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            Ok(Request::Auto)
        } else {
            s.parse().map(Request::Exactly)
        }
    }
}

/// Whether this CPU does f16 arithmetic natively *and* tract will use its f16 kernels: on
/// aarch64, FEAT_FP16 by HWCAP and in tract's instruction-set probe (which honours
/// `TRACT_CPU_ISA`, e.g. `+fp16` under qemu, whose /proc/cpuinfo is the host's). Always false
/// on x86: tract 0.23 has no f16 matrix kernels there.
pub fn native_f16() -> bool {
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("fp16")
            && tract_linalg::isa::native().has(tract_linalg::isa::Isa::Aarch64Fp16)
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        false
    }
}

/// Whether tract runs int8 graphs on integer dot-product kernels on this CPU: AVX-512 VNNI or
/// AVX-VNNI (or AMX) on x86, the dot-product extension on aarch64, as tract's instruction-set probe sees
/// them (so `TRACT_CPU_ISA=-avx512f,-avx512vnni,-avxvnni,-amx-int8` answers as a Zen 3 would). Settles the process's
/// kernel set for int8 first ([`kernels::select`]).
pub fn int8_dot_product() -> bool {
    use tract_linalg::isa::Isa;
    kernels::select(true);
    let isa = tract_linalg::isa::native();
    [
        Isa::X86_64Avx512Vnni,
        Isa::X86_64AvxVnni,
        Isa::X86_64AmxInt8,
        Isa::Aarch64DotProd,
    ]
    .into_iter()
    .any(|i| isa.has(i))
}

/// The precision that `precision` actually runs at on this CPU, with a note when it
/// differs: f16 without native f16 runs f32, and so does int8 without integer dot products.
pub fn effective(precision: Precision) -> Resolved {
    if precision == Precision::Int8 && !int8_dot_product() {
        Resolved {
            precision: Precision::F32,
            note: Some(
                "int8 asked for, but this CPU has no integer dot product that tract uses \
                 (AVX-512 VNNI, AVX-VNNI, Arm dotprod): its int8 kernels are slower than f32 \
                 (32x on a Zen 3), so running f32"
                    .into(),
            ),
        }
    } else if precision == Precision::F16 && !native_f16() {
        Resolved {
            precision: Precision::F32,
            note: Some(
                "f16 asked for, but this CPU has no native f16 arithmetic that tract uses: \
                 running f32 (emulated f16 would be ~240x slower)"
                    .into(),
            ),
        }
    } else {
        Resolved {
            precision,
            note: None,
        }
    }
}

/// The fastest precision per stage measured on one CPU, as `latent bench --save-choice` writes
/// it: a JSON file named after the CPU (model and features) in the user's cache directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Choices {
    /// The CPU the measurements are from (model and features).
    pub cpu: String,
    /// Stage → the fastest precision within its error budget.
    pub fastest: BTreeMap<Stage, Precision>,
}

impl Choices {
    /// The file for `cpu` under `dir`.
    pub fn path(dir: &Path, cpu: &str) -> PathBuf {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in cpu.bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        dir.join(format!("precision-{hash:016x}.json"))
    }

    /// The user's cache directory for these files (`$LATENT_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/latent-codec`, else `$HOME/.cache/latent-codec`).
    pub fn dir() -> Option<PathBuf> {
        let var = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("LATENT_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("latent-codec")))
            .or_else(|| var("HOME").map(|d| d.join(".cache").join("latent-codec")))
    }

    /// The choices saved for `cpu` under `dir`, if any (an unreadable file counts as none).
    pub fn load(dir: &Path, cpu: &str) -> Option<Self> {
        let bytes = std::fs::read(Self::path(dir, cpu)).ok()?;
        let choices: Self = serde_json::from_slice(&bytes).ok()?;
        (choices.cpu == cpu).then_some(choices)
    }

    /// Resolves `request` for `stage`: `auto` takes the saved choice for this CPU, else f16
    /// where it is native and f32 elsewhere.
    pub fn resolve(saved: Option<&Self>, request: Request, stage: Stage) -> Resolved {
        match request {
            Request::Exactly(p) => effective(p),
            Request::Auto => match saved.and_then(|c| c.fastest.get(&stage)) {
                Some(&p) => {
                    let mut r = effective(p);
                    r.note.get_or_insert_with(|| {
                        format!("auto: {p}, the fastest that latent bench measured on this CPU")
                    });
                    r
                }
                None => {
                    let p = if native_f16() {
                        Precision::F16
                    } else {
                        Precision::F32
                    };
                    Resolved {
                        precision: p,
                        note: Some(format!(
                            "auto: {p} (nothing measured on this CPU yet: run `latent bench \
                             --precision f32,f16,int8 --save-choice`)"
                        )),
                    }
                }
            },
        }
    }
}

/// Resolves `request` for `stage` on this CPU, with the choices saved for it.
pub fn resolve(request: Request, stage: Stage) -> Resolved {
    let saved = match request {
        Request::Auto => Choices::dir().and_then(|d| Choices::load(&d, &Cpu::probe().id())),
        Request::Exactly(_) => None,
    };
    Choices::resolve(saved.as_ref(), request, stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
            assert_eq!(Precision::from_wire(p.to_wire()), p);
        }
        assert_eq!("auto".parse::<Request>().unwrap(), Request::Auto);
        let err = "fp8".parse::<Request>().unwrap_err().to_string();
        assert!(
            err.contains("fp8") && err.contains("f32, f16, int8, auto"),
            "{err}"
        );
    }

    #[test]
    fn f16_runs_only_where_it_is_native() {
        let r = effective(Precision::F16);
        if native_f16() {
            assert_eq!(r.precision, Precision::F16);
        } else {
            assert_eq!(r.precision, Precision::F32);
            assert!(r.note.unwrap().contains("f16"));
        }
        let int8 = effective(Precision::Int8);
        if int8_dot_product() {
            assert_eq!(int8.precision, Precision::Int8);
        } else {
            assert_eq!(int8.precision, Precision::F32);
            assert!(int8.note.unwrap().contains("no integer dot product"));
        }
    }

    #[test]
    fn stages_parse_by_name() {
        for stage in Stage::ALL {
            assert_eq!(stage.name().parse::<Stage>().unwrap(), stage);
        }
        let err = "encoder".parse::<Stage>().unwrap_err().to_string();
        assert!(err.contains("encode, decode, denoise"), "{err}");
    }

    #[test]
    fn auto_takes_the_saved_choice_per_stage_and_f32_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = "Test CPU (neon)";
        let mut saved = Choices {
            cpu: cpu.into(),
            ..Default::default()
        };
        saved.fastest.insert(Stage::Decode, Precision::Int8);
        let json = serde_json::to_string(&saved).unwrap();
        // The file format names stages as the command line does.
        assert!(json.contains(r#""fastest":{"decode":"int8"}"#), "{json}");
        std::fs::write(Choices::path(dir.path(), cpu), json).unwrap();
        let loaded = Choices::load(dir.path(), cpu).unwrap();
        let decode = Choices::resolve(Some(&loaded), Request::Auto, Stage::Decode);
        // The saved int8 runs where this CPU has integer dot products, f32 (with its note) elsewhere.
        let runs = effective(Precision::Int8);
        assert_eq!(decode.precision, runs.precision);
        if runs.note.is_none() {
            assert!(
                decode
                    .note
                    .unwrap()
                    .contains("fastest that latent bench measured")
            );
        } else {
            assert_eq!(decode.note, runs.note);
        }
        let encode = Choices::resolve(Some(&loaded), Request::Auto, Stage::Encode);
        let unmeasured = if native_f16() {
            Precision::F16
        } else {
            Precision::F32
        };
        assert_eq!(encode.precision, unmeasured);
        assert!(Choices::load(dir.path(), "Other CPU").is_none());
        let exact = Choices::resolve(
            Some(&loaded),
            Request::Exactly(Precision::F32),
            Stage::Decode,
        );
        assert_eq!(exact.precision, Precision::F32);
    }
}
