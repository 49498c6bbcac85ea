//! Seals (and then opens) a stream of N MiB (default 1024) generated on the
//! fly, writing the body to a sink, so that `/usr/bin/time -v` shows the
//! peak memory of a streaming seal (spec 9.7 [STR-9]).
//!
//! `cargo build --release --example stream_memory && /usr/bin/time -v target/release/examples/stream_memory 1024`

use std::io::{self, Write};
use std::time::Instant;

use blindsync::envelope::Suite;
use blindsync::keys::AccountId;
use blindsync::stream::{Manifest, StreamKeySource, StreamParams, StreamSealer};

fn main() -> io::Result<()> {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let params =
        StreamParams { account: AccountId([1; 32]), suite: Suite::Aes256Gcm, stream_id: [2; 16], context: [3; 32] };
    let source = StreamKeySource::from_bytes([4; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let block = vec![0x5au8; 1 << 20];
    let start = Instant::now();
    let mut sealer = StreamSealer::with_salt(params, &source, &sk, [9; 32], io::sink());
    for _ in 0..mib {
        sealer.write_all(&block)?;
    }
    let (manifest, _) = sealer.finish()?;
    let secs = start.elapsed().as_secs_f64();
    let m = Manifest::decode(&manifest).map_err(io::Error::other)?;
    println!(
        "sealed {mib} MiB in {secs:.2} s ({:.0} MiB/s), {} chunks, manifest {} bytes",
        mib as f64 / secs,
        m.chunk_count(),
        manifest.len()
    );
    Ok(())
}
