//! Embeds the application icon and version information in raiiaf.exe (Explorer, the taskbar,
//! Alt+Tab, the file's Properties) when building for Windows: on Windows with its resource
//! compiler, and cross-building from Linux with mingw-w64's `x86_64-w64-mingw32-windres`
//! (winresource picks the target's tool). Other targets only compile and run this script.

const ICON: &str = "packaging/windows/raiiaf.ico";

fn main() {
    println!("cargo:rerun-if-changed=packaging/windows/build.rs");
    println!("cargo:rerun-if-changed={ICON}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    // Version, product name and description come from Cargo.toml's package fields.
    let mut resource = winresource::WindowsResource::new();
    resource.set_icon(ICON);
    if let Err(error) = resource.compile() {
        // Without rc.exe or windres the program still builds, without its icon.
        println!("cargo:warning=the icon was not embedded in raiiaf.exe: {error}");
    }
}
