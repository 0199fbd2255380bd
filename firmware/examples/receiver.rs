//! A receiver loop as a microcontroller on a radio link would run it: fixed buffers, no
//! allocation in the loop, every packet validated before it is kept.
//!
//! On the host the "radio" reads packet files (as written by `latent packetize`) from a
//! directory, in the order given on the command line:
//!
//!     cargo run -p latent-wire --example receiver -- DIR/*.pkt
//!
//! On a device, `Radio::receive` would read the modem's FIFO and the report would go to a
//! UART; the loop itself is unchanged.

use latent_wire::packet::{Accepted, Reassembler};

/// The largest packet this receiver accepts (LoRa's 222 bytes would do; BLE and UDP need more).
const MTU: usize = 1500;
/// Slices held at once, and the bytes they may take: 64 KiB of RAM for a whole image.
const WINDOW: usize = 256;
const ARENA: usize = 64 * 1024;

/// Where packets come from.
trait Radio {
    /// Fills `buf` with the next packet; returns its length, or `None` when the link is idle.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
}

/// The host stand-in: one file per packet.
struct Files(std::vec::IntoIter<String>);

impl Radio for Files {
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            let path = self.0.next()?;
            match std::fs::read(&path) {
                // A frame longer than the MTU is cut, as a modem would; its CRC then fails.
                Ok(bytes) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    return Some(n);
                }
                Err(e) => eprintln!("{path}: {e}"),
            }
        }
    }
}

fn main() {
    let mut radio = Files(std::env::args().skip(1).collect::<Vec<_>>().into_iter());
    let mut rx = [0u8; MTU];
    let mut arena = [0u8; ARENA];
    let mut window: Reassembler<'_, WINDOW> = Reassembler::new(&mut arena);
    let (mut kept, mut refused) = (0u32, 0u32);
    while let Some(n) = radio.receive(&mut rx) {
        match window.push(&rx[..n]) {
            Ok(Accepted::Header) => {
                let (h, _) = window.header().expect("just stored");
                println!(
                    "header: {}x{} image, latent {}x{}x{}",
                    h.width, h.height, h.latent_channels, h.latent_height, h.latent_width
                );
                kept += 1;
            }
            Ok(Accepted::HeaderCopy) => kept += 1,
            Ok(Accepted::Slice(span)) => {
                println!(
                    "slice: positions {}..{}",
                    span.first,
                    span.first + span.count
                );
                kept += 1;
            }
            Err(e) => {
                println!("refused: {e}");
                refused += 1;
            }
        }
        if window.is_complete()
            && window
                .total()
                .is_some_and(|t| usize::from(t) == window.received())
        {
            break;
        }
    }
    let total = window.total().unwrap_or(0);
    let missing = (0..total).filter(|&s| !window.has(s)).count();
    println!(
        "{kept} packets kept, {refused} refused, {missing} of {total} missing; complete: {}",
        window.is_complete()
    );
}
