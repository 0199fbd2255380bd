//! Which codec a command runs: the `--model` bundle for everything, or one of the two embedded
//! models, gray pictures to the gray one, a `.lat` (or packet stream) to the one whose
//! fingerprint it carries. Each is loaded when first needed.

use std::cell::OnceCell;

use anyhow::Result;
use image::DynamicImage;
use latent_codec::io::imageio::is_gray;
use latent_codec::runtime::bundle::Embedded;
use latent_codec::runtime::precision::{Precision, Stage};
use latent_codec::{Codec, Limits};
use latent_wire::container::LatFile;

use super::ModelOpts;

/// The codecs of one command run.
pub struct Codecs<'o> {
    opts: &'o ModelOpts,
    stage: Stage,
    /// The `--model` bundle or the embedded colour one, then the embedded gray one.
    loaded: [OnceCell<Codec>; 2],
}

impl<'o> Codecs<'o> {
    /// Nothing loaded yet; each codec runs `stage` at the precision `opts` resolves for it.
    pub fn new(opts: &'o ModelOpts, stage: Stage) -> Self {
        Self {
            opts,
            stage,
            loaded: Default::default(),
        }
    }

    /// The codec for `which` embedded model, or the `--model` one when given.
    pub fn get(&self, which: Embedded) -> Result<&Codec> {
        let slot = match (&self.opts.model, which) {
            (Some(_), _) | (None, Embedded::Colour) => 0,
            (None, Embedded::Gray) => 1,
        };
        if let Some(codec) = self.loaded[slot].get() {
            return Ok(codec);
        }
        let bundle = self.opts.bundle(which)?;
        let precision = self.opts.precision.resolve(self.stage);
        let codec = Codec::new(bundle, self.opts.threads(), precision, self.opts.limits())?;
        Ok(self.loaded[slot].get_or_init(|| codec))
    }

    /// The codec for gray pictures, or for colour ones.
    pub fn for_gray(&self, gray: bool) -> Result<&Codec> {
        self.get(Embedded::for_picture(gray))
    }

    /// The codec for `image`.
    pub fn for_picture(&self, image: &DynamicImage) -> Result<&Codec> {
        self.for_gray(is_gray(image))
    }

    /// The codec for a `.lat` header's `fingerprint` (see [`for_fingerprint`]).
    pub fn for_fingerprint(&self, fingerprint: [u8; 8]) -> Result<&Codec> {
        self.get(for_fingerprint(self.opts, Some(fingerprint)))
    }

    /// The codec for the `.lat` file `lat`.
    pub fn for_lat(&self, lat: &[u8]) -> Result<&Codec> {
        self.get(for_lat(self.opts, lat))
    }

    /// The names of the models run so far, comma-separated (empty when none ran).
    pub fn names(&self) -> String {
        let used: Vec<&str> = self
            .loaded
            .iter()
            .filter_map(OnceCell::get)
            .map(|c| c.bundle().prior.name.as_str())
            .collect();
        used.join(", ")
    }

    /// The limits the codecs read within.
    pub fn limits(&self) -> Limits {
        self.opts.limits()
    }

    /// The precision the codecs run at.
    pub fn precision(&self) -> Precision {
        self.opts.precision.resolve(self.stage)
    }
}

/// The embedded model a `.lat` header's `fingerprint` names: the gray one when it is its
/// fingerprint and no `--model` is given, else the colour one (whose checks then name a
/// mismatch). Ignored with `--model`.
pub fn for_fingerprint(opts: &ModelOpts, fingerprint: Option<[u8; 8]>) -> Embedded {
    let gray = opts.model.is_none() && fingerprint == Some(Embedded::Gray.fingerprint());
    Embedded::for_picture(gray)
}

/// [`for_fingerprint`] of the `.lat` file `lat` (a file that does not parse: the colour one).
pub fn for_lat(opts: &ModelOpts, lat: &[u8]) -> Embedded {
    let fingerprint = LatFile::parse(lat).ok().map(|f| f.header().fingerprint);
    for_fingerprint(opts, fingerprint)
}
