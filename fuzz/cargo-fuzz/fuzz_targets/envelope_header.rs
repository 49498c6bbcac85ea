#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| blindsync_fuzz::targets::envelope_header::run(data));
