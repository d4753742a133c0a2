//! Embeds the application icon in raiiaf.exe (Explorer, taskbar, Alt+Tab) when building on
//! Windows for Windows. Elsewhere it does nothing: winresource is a Windows-host-only build
//! dependency (Cargo.toml), so other builds only compile and run this empty script.

fn main() {
    println!("cargo:rerun-if-changed=packaging/windows/build.rs");
    #[cfg(windows)]
    windows_icon::embed();
}

#[cfg(windows)]
mod windows_icon {
    const ICON: &str = "packaging/windows/raiiaf.ico";

    pub fn embed() {
        println!("cargo:rerun-if-changed={ICON}");
        // The host is Windows; the target may still be another system.
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
            return;
        }
        let mut resource = winresource::WindowsResource::new();
        resource.set_icon(ICON);
        if let Err(error) = resource.compile() {
            // Without rc.exe or windres the program still builds, without its icon.
            println!("cargo:warning=the icon was not embedded in raiiaf.exe: {error}");
        }
    }
}
