#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| blindsync_fuzz::targets::server_state::run(data));
