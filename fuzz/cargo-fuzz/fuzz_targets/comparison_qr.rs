#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| blindsync_fuzz::targets::comparison_qr::run(data));
