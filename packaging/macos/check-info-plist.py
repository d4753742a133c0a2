#!/usr/bin/env python3
"""Checks packaging/macos/Info.plist on any system (no Mac needed), against the rest of the
project: it parses as a property list; each file type has an exported type identifier whose
extension and MIME type are the ones packaging/linux/raiiaf-workbench.xml declares, and a
document type (role Viewer) naming it; the executable, bundle identifier, icon files and
info-plist-path agree with Cargo.toml's [[bin]] and [package.metadata.packager]; the icons exist
and are .icns files. Whether macOS honours all of it is not tested (no Mac was available).

    python3 packaging/macos/check-info-plist.py

Prints PASS/FAIL per check; exits non-zero if any failed.
"""

import plistlib
import sys
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"

results = []


def check(description, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}: {description}{'' if ok or not detail else ' -- ' + detail}")


def linux_types():
    """Extension -> MIME type, from the freedesktop MIME package."""
    tree = ElementTree.parse(ROOT / "packaging/linux/raiiaf-workbench.xml")
    types = {}
    for mime in tree.getroot().iter(f"{MIME_NS}mime-type"):
        for glob in mime.iter(f"{MIME_NS}glob"):
            types[glob.get("pattern").removeprefix("*.")] = mime.get("type")
    return types


def main():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    packager = cargo["package"]["metadata"]["packager"]
    plist_path = ROOT / packager["macos"]["info-plist-path"]
    check("Cargo.toml's info-plist-path is this Info.plist", plist_path == ROOT / "packaging/macos/Info.plist")
    info = plistlib.loads(plist_path.read_bytes())
    check("Info.plist parses as a property list", isinstance(info, dict))

    binary = cargo["bin"][0]["name"]
    check("CFBundleExecutable is the binary", info.get("CFBundleExecutable") == binary, str(info.get("CFBundleExecutable")))
    check(
        "CFBundleIdentifier is cargo-packager's identifier",
        info.get("CFBundleIdentifier") == packager["identifier"],
        f"{info.get('CFBundleIdentifier')} vs {packager['identifier']}",
    )
    check("CFBundlePackageType APPL", info.get("CFBundlePackageType") == "APPL")
    app_icon = Path(packager["icons"][0])
    check("CFBundleIconFile is the bundled app icon", info.get("CFBundleIconFile") == app_icon.name, str(info.get("CFBundleIconFile")))
    # Files that end up in Contents/Resources under these names.
    resources = {app_icon.name: ROOT / app_icon}
    for resource in packager.get("resources", []):
        resources[resource["target"]] = ROOT / resource["src"]
    for name, source in resources.items():
        check(f"{name} exists and is an .icns file", source.is_file() and source.read_bytes()[:4] == b"icns", str(source))

    exported = {t.get("UTTypeIdentifier"): t for t in info.get("UTExportedTypeDeclarations", [])}
    documents = info.get("CFBundleDocumentTypes", [])
    for extension, mime in linux_types().items():
        matches = [
            uti
            for uti, declaration in exported.items()
            if declaration.get("UTTypeTagSpecification", {}).get("public.filename-extension") == [extension]
        ]
        check(f".{extension} has one exported type identifier", len(matches) == 1, str(matches))
        if len(matches) != 1:
            continue
        uti = matches[0]
        declaration = exported[uti]
        tags = declaration["UTTypeTagSpecification"]
        check(f"{uti} has the MIME type {mime}", tags.get("public.mime-type") == [mime], str(tags.get("public.mime-type")))
        check(f"{uti} conforms to public.data", "public.data" in declaration.get("UTTypeConformsTo", []))
        check(f"{uti}'s icon is bundled", declaration.get("UTTypeIconFile") in resources, str(declaration.get("UTTypeIconFile")))
        handlers = [d for d in documents if uti in d.get("LSItemContentTypes", [])]
        check(f"one document type opens {uti}", len(handlers) == 1, str(len(handlers)))
        for handler in handlers:
            check(f"{uti}: role Viewer", handler.get("CFBundleTypeRole") == "Viewer")
            check(f"{uti}: document icon is bundled", handler.get("CFBundleTypeIconFile") in resources)
    named = {uti for d in documents for uti in d.get("LSItemContentTypes", [])}
    check("document types name only exported types", named <= set(exported), str(named - set(exported)))

    print(f"check-info-plist: {results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
