#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| blindsync_fuzz::targets::pairing_accept::run(data));
