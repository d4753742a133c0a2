#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raiiaf_workbench_fuzz::image_params(data));
