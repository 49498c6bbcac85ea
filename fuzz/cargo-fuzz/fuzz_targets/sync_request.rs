#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| blindsync_fuzz::targets::sync_request::run(data));
