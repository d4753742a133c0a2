#!/usr/bin/env python3
"""Drives the built web page in headless Chromium (through chromedriver's WebDriver HTTP API;
the standard library only) and checks it against the native build.

    check_page.py SITE_DIR RAIIAF_BINARY SCREENSHOT_DIR

- serves SITE_DIR, tests/fixtures and assets/examples from a local HTTP server on 127.0.0.1;
- opens every fixture and example with ?url= and checks the app opened it (the page title names
  it) and that nothing stopped the app (the page's message box stays hidden);
- checks through window.raiiafInspect that every fixture's object equals what
  `raiiaf info --json` prints natively for the same bytes (verdict, checks, latent hashes, image
  hash, everything);
- draws degenerate, seed and damaged files on every tab (clicking the tab headers);
- drops one file (it opens), two (compared) and three (verified; the downloaded report equals
  `raiiaf verify --report`'s rows);
- downloads the heatmap PNG and the latent .npy (equal to what `raiiaf extract` writes);
- walks the packer with a dropped PNG and .npy and has the reference read back the download;
- saves a screenshot of each tab of assets/examples/aurora.raiiaf, and times the first frame
  with the image and every heatmap (the app's `?timing` report).
"""

import base64
import contextlib
import functools
import hashlib
import http.server
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROME_ARGS = ["--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
               "--window-size=1280,860", "--disable-dev-shm-usage"]
TABS = ["latents", "image", "manifest", "chunks", "environment"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript"}

    def log_message(self, *args):
        pass


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        capabilities = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": shutil.which("chromium") or "/usr/bin/chromium", "args": CHROME_ARGS},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        self.session = self.call("POST", "/session", capabilities)["sessionId"]
        self.call("POST", f"/session/{self.session}/timeouts", {"script": 90000, "pageLoad": 60000})

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.read().decode(errors='replace')[:2000]}") from None

    def go(self, url):
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script, *args):
        """Runs an async script: its last argument is the callback to call with the result."""
        return self.call("POST", f"/session/{self.session}/execute/async", {"script": script, "args": list(args)})

    def screenshot(self, path):
        path.write_bytes(base64.b64decode(self.call("GET", f"/session/{self.session}/screenshot")))

    def click(self, x, y):
        """A left click at (x, y) CSS pixels of the viewport: real input events, as a mouse gives."""
        pointer = {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": x, "y": y, "origin": "viewport", "duration": 0},
            {"type": "pointerDown", "button": 0}, {"type": "pause", "duration": 50}, {"type": "pointerUp", "button": 0}]}
        self.call("POST", f"/session/{self.session}/actions", {"actions": [pointer]})

    def console(self):
        """The browser console's messages since the last call."""
        return [entry["message"] for entry in self.call("POST", f"/session/{self.session}/se/log", {"type": "browser"})]

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        except Exception:
            pass


# Waits until the page title names `name` (the app opened it) and the app has drawn a few more
# frames; fails early if the message box (load failure, panic) is shown.
WAIT_FOR_TITLE = """
const [name, done] = [arguments[0], arguments[arguments.length - 1]];
const started = performance.now();
function stopped() {
  const message = document.getElementById("raiiaf_message");
  return message && message.className === "shown" && !message.textContent.startsWith("Loading");
}
// A second look after the file has had time to decode and draw: a panic shows in the message box.
function check() {
  if (stopped()) return done({error: document.getElementById("raiiaf_message").textContent});
  done({title: document.title, log: window.raiiafLog || []});
}
function poll() {
  const message = document.getElementById("raiiaf_message");
  if (message && message.className === "shown" && !message.textContent.startsWith("Loading")) {
    return done({error: message.textContent});
  }
  if (document.title.includes(name)) {
    return setTimeout(() => check(), 1000);
  }
  if (performance.now() - started > 60000) return done({error: "timed out; title " + document.title});
  setTimeout(poll, 20);
}
poll();
"""

INSPECT = """
const [url, name, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
fetch(url).then((r) => r.arrayBuffer())
  .then((buffer) => window.raiiafInspect(new Uint8Array(buffer), name))
  .then((info) => done({info}), (error) => done({error: String(error)}));
"""

# Records the downloads the page starts (a Blob URL on an <a download> clicked) instead of
# saving them; DOWNLOADED then reads the first one's bytes back.
CATCH_DOWNLOADS = """
const done = arguments[arguments.length - 1];
window.raiiafDownloads = [];
const click = HTMLAnchorElement.prototype.click;
HTMLAnchorElement.prototype.click = function () {
  if (this.download) { window.raiiafDownloads.push({name: this.download, href: this.href}); return; }
  return click.call(this);
};
done(true);
"""

DOWNLOADED = """
const done = arguments[arguments.length - 1];
const started = performance.now();
function poll() {
  const download = (window.raiiafDownloads || [])[0];
  if (!download) {
    if (performance.now() - started > 30000) return done({error: "no download started"});
    return setTimeout(poll, 50);
  }
  fetch(download.href).then((r) => r.arrayBuffer()).then((buffer) => {
    let text = "";
    new Uint8Array(buffer).forEach((byte) => { text += String.fromCharCode(byte); });
    done({name: download.name, base64: btoa(text)});
  }, (error) => done({error: String(error)}));
}
poll();
"""

# Where the buttons are in a 1280-pixel-wide page (egui lays them out the same way every time).
EXPORT_REPORT_BUTTON = (308, 112)
EXPORT_HEATMAPS_BUTTON = (361, 292)
EXPORT_LATENT_BUTTON = (730, 292)
# A document's tab headers: Latents, Image, Manifest, Chunks & checks, Environment.
TAB_HEADERS = [(37, 66), (100, 66), (168, 66), (265, 66), (374, 66)]
# The packer: "Use these parameters" under the image's parameters, "Next", and "Save as…".
USE_PARAMETERS_BUTTON = (105, 466)
NEXT_BUTTON = (88, 672)
SAVE_AS_BUTTON = (51, 477)
PACKER_STEPS = 5

A1111_PARAMETERS = ("a lighthouse on a cliff\nNegative prompt: blurry\nSteps: 28, Sampler: DPM++ 2M, CFG scale: 6.5, "
                    "Seed: 3551078465, Size: 64x48, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1")


def png_with_parameters(width, height):
    """An RGB PNG with an AUTOMATIC1111 `parameters` text chunk, made with the standard library."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    # Each row: filter type 0, then RGB pixels (a gradient).
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 4 % 256, y * 5 % 256, 90))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"parameters\x00" + A1111_PARAMETERS.encode()) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def npy_float32(shape, values):
    """A little-endian float32 .npy of `shape` holding `values`, and the values' bytes."""
    data = struct.pack(f"<{len(values)}f", *values)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{n}, " for n in shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data, data


def download_after_click(driver, at):
    driver.run(CATCH_DOWNLOADS)
    driver.click(*at)
    result = driver.run(DOWNLOADED)
    if "error" in result:
        return None, result["error"]
    return result["name"], base64.b64decode(result["base64"])


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", data[16:24])


# Drops files (URLs on the test server) on the canvas with synthetic drag events carrying Files.
DROP = """
const [urls, done] = [arguments[0], arguments[arguments.length - 1]];
Promise.all(urls.map((url) => fetch(url).then((r) => r.arrayBuffer()))).then((buffers) => {
  const transfer = new DataTransfer();
  buffers.forEach((buffer, i) => transfer.items.add(
    new File([buffer], urls[i].split("/").pop(), {type: "application/octet-stream"})));
  const canvas = document.getElementById("raiiaf_canvas");
  for (const type of ["dragenter", "dragover", "drop"]) {
    canvas.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
  done({dropped: urls.length});
}, (error) => done({error: String(error)}));
"""


@contextlib.contextmanager
def page_server(site, links):
    """Serves SITE_DIR plus `links` ({name in the site: path}) on 127.0.0.1 and starts headless
    Chromium: yields (the served folder, the page's URL, the WebDriver)."""
    serve = Path(tempfile.mkdtemp(prefix="raiiaf-web-"))
    for entry in Path(site).iterdir():
        (serve / entry.name).symlink_to(entry.resolve())
    for name, target in links.items():
        (serve / name).symlink_to(target)
    http_port, driver_port = free_port(), free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), functools.partial(Quiet, directory=str(serve)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chromedriver = subprocess.Popen(["chromedriver", f"--port={driver_port}"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    driver = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{driver_port}/status", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        driver = WebDriver(driver_port)
        yield serve, f"http://127.0.0.1:{http_port}/index.html", driver
    finally:
        if driver is not None:
            driver.quit()
        chromedriver.terminate()
        server.shutdown()
        shutil.rmtree(serve, ignore_errors=True)


def drop_on_start_page(driver, page, urls, title):
    """Opens the empty page, drops `urls` on it and waits for the title to contain `title`."""
    driver.go(page)
    driver.run(WAIT_FOR_TITLE, "RAIIAF Workbench")
    dropped = driver.run(DROP, urls)
    return dropped if "error" in dropped else driver.run(WAIT_FOR_TITLE, title)


def check_every_file(driver, page, binary, screenshots, failures):
    """Each fixture, example and degenerate file opened by ?url=, and raiiafInspect against info --json."""
    files = sorted(p.relative_to(ROOT) for p in (ROOT / "tests/fixtures").iterdir() if p.suffix in (".raiiaf", ".gen5"))
    files += sorted(p.relative_to(ROOT) for p in (ROOT / "assets/examples").glob("*.raiiaf"))
    files += sorted(p.relative_to(ROOT) for p in (ROOT / "tests/fixtures/degenerate").glob("*.raiiaf"))
    assert len(files) > 30, f"only {len(files)} files to open"
    for relative in files:
        served = str(relative).replace("tests/fixtures", "fixtures").replace("assets/examples", "examples")
        driver.go(f"{page}?url={served}")
        shown = driver.run(WAIT_FOR_TITLE, relative.name)
        if "error" in shown:
            failures.append(f"{relative}: the page did not open it: {shown['error']}")
            driver.screenshot(Path(screenshots) / f"web-failed-{relative.name}.png")
            continue
        native = json.loads(subprocess.run([binary, "info", "--json", str(relative)], cwd=ROOT,
                                           capture_output=True, check=False).stdout)
        inspected = driver.run(INSPECT, served, str(relative))
        if "error" in inspected:
            failures.append(f"{relative}: raiiafInspect failed: {inspected['error']}")
        elif inspected["info"] != native:
            keys = [k for k in native if native.get(k) != inspected["info"].get(k)]
            failures.append(f"{relative}: raiiafInspect differs from info --json in {keys}")
        print(f"web: {relative}: opened, {native['verdict']}, raiiafInspect "
              f"{'matches' if inspected.get('info') == native else 'DIFFERS'}", flush=True)


STOPPED = """
const done = arguments[arguments.length - 1];
const message = document.getElementById("raiiaf_message");
done(message && message.className === "shown" ? message.textContent : null);
"""


def damaged_variants(source, folder):
    """Truncations and flipped bytes of `source`, written into `folder`; returns their names."""
    data = source.read_bytes()
    variants = {f"{source.stem}-cut{cut}.raiiaf": data[:cut] for cut in (0, 33, len(data) // 2, len(data) - 1)}
    for at in (9, 21, len(data) // 2, len(data) - 20):
        flipped = bytearray(data)
        flipped[at] ^= 0x5A
        variants[f"{source.stem}-flip{at}.raiiaf"] = bytes(flipped)
    folder.mkdir(exist_ok=True)
    for name, content in variants.items():
        (folder / name).write_bytes(content)
    return sorted(variants)


def check_every_tab(driver, page, serve, screenshots, failures):
    """Degenerate shapes and values, the fuzzers' seeds and damaged files, each drawn on every tab
    (the tab headers clicked in turn): the app must show them without stopping."""
    served = [f"degenerate/{p.name}" for p in sorted((ROOT / "tests/fixtures/degenerate").glob("*.raiiaf"))]
    served += [f"seeds/{p.name}" for p in sorted((ROOT / "tests/fuzz/seeds/container_raiiaf").iterdir())]
    for fixture in ("f32_zfp.raiiaf", "multi_latent_zfp.raiiaf"):
        served += [f"damaged/{name}" for name in damaged_variants(ROOT / "tests/fixtures" / fixture, serve / "damaged")]
    assert len(served) > 20, f"only {len(served)} files for the every-tab sweep"
    for url in served:
        name = url.split("/")[-1]
        driver.go(f"{page}?url={url}")
        shown = driver.run(WAIT_FOR_TITLE, name)
        if "error" in shown:
            failures.append(f"{url}: {shown['error']}")
            continue
        for tab in TAB_HEADERS:
            driver.click(*tab)
            time.sleep(0.2)
        time.sleep(0.3)
        stopped = driver.run(STOPPED)
        if stopped:
            driver.screenshot(Path(screenshots) / f"web-failed-{name}.png")
            failures.append(f"{url}: the app stopped on one of its tabs: {stopped}")
    print(f"web: {len(served)} degenerate, seed and damaged files drawn on every tab", flush=True)


def check_drops(driver, page, binary, screenshots, failures):
    """One dropped file opens; two are compared; three are verified, and the downloaded report
    says what the native verifier says of the same files."""
    shown = drop_on_start_page(driver, page, ["fixtures/multi_latent_zfp.raiiaf"], "multi_latent_zfp.raiiaf")
    if "error" in shown:
        failures.append(f"drop: {shown['error']}")
    else:
        print("web: a dropped file opened", flush=True)
        driver.screenshot(Path(screenshots) / "web-dropped.png")

    shown = drop_on_start_page(driver, page, ["fixtures/f32_raw.raiiaf", "fixtures/f32_zfp.raiiaf"],
                               "f32_raw.raiiaf vs f32_zfp.raiiaf")
    if "error" in shown:
        failures.append(f"comparing dropped files: {shown['error']}")
    else:
        driver.screenshot(Path(screenshots) / "web-compare.png")
        print("web: two dropped files are compared", flush=True)

    trio = ["f32_raw.raiiaf", "gen5_zstd.gen5", "rank5_raw.raiiaf"]
    shown = drop_on_start_page(driver, page, [f"fixtures/{name}" for name in trio], "Verify 3 files")
    if "error" in shown:
        return failures.append(f"verifying dropped files: {shown['error']}")
    driver.screenshot(Path(screenshots) / "web-verify.png")
    name, report = download_after_click(driver, EXPORT_REPORT_BUTTON)
    if name is None:
        return failures.append(f"verification report: {report}")
    with tempfile.TemporaryDirectory() as scratch:
        native_report = Path(scratch) / "native.json"
        subprocess.run([binary, "verify", "--report", str(native_report), *[f"tests/fixtures/{n}" for n in trio]],
                       cwd=ROOT, capture_output=True)
        native_rows = json.loads(native_report.read_text())["files"]
    web_rows = json.loads(report)["files"]

    def by_name(rows):
        return sorted([{**row, "path": Path(row["path"]).name} for row in rows], key=lambda row: row["path"])
    if name != "3_files-report.json" or by_name(web_rows) != by_name(native_rows):
        failures.append(f"verification report {name}: {by_name(web_rows)} differs from raiiaf verify's "
                        f"{by_name(native_rows)}")
    else:
        print("web: the verification report downloads and equals raiiaf verify's", flush=True)


def check_exports(driver, page, binary, failures):
    """The heatmaps download as a PNG, the latent as the .npy `raiiaf extract` writes."""
    driver.go(f"{page}?url=examples/aurora.raiiaf")
    driver.run(WAIT_FOR_TITLE, "aurora.raiiaf")
    name, data = download_after_click(driver, EXPORT_HEATMAPS_BUTTON)
    # Four 64x64 channels in two columns, 2 pixels apart.
    if name is None or png_size(data) != (130, 130):
        failures.append(f"heatmap export: {name} {data if name is None else png_size(data)}")
    driver.go(f"{page}?url=examples/aurora.raiiaf")
    driver.run(WAIT_FOR_TITLE, "aurora.raiiaf")
    name, data = download_after_click(driver, EXPORT_LATENT_BUTTON)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([binary, "extract", "-o", scratch, "assets/examples/aurora.raiiaf"], cwd=ROOT,
                       capture_output=True)
        native_npy = (Path(scratch) / "initial_noise.npy").read_bytes()
    if name is None or data != native_npy:
        failures.append(f"latent export: {name} differs from raiiaf extract's initial_noise.npy")
    else:
        print(f"web: exports download ({name} equals raiiaf extract's)", flush=True)


def check_packer(driver, page, serve, screenshots, failures):
    """A PNG with parameters and a .npy dropped together, the parameters used, every step passed,
    and the downloaded .raiiaf read back by the reference."""
    image = png_with_parameters(64, 48)
    npy, latent_bytes = npy_float32((1, 4, 6, 8), [math.sin(i * 0.37) for i in range(192)])
    (serve / "inputs").mkdir()
    (serve / "inputs/lighthouse.png").write_bytes(image)
    (serve / "inputs/noise.npy").write_bytes(npy)
    shown = drop_on_start_page(driver, page, ["inputs/lighthouse.png", "inputs/noise.npy"], "Packer")
    if "error" in shown:
        return failures.append(f"packer: {shown['error']}")
    driver.click(*USE_PARAMETERS_BUTTON)
    for _ in range(PACKER_STEPS):
        time.sleep(0.3)
        driver.click(*NEXT_BUTTON)
    time.sleep(0.5)
    driver.screenshot(Path(screenshots) / "web-packer-review.png")
    name, packed = download_after_click(driver, SAVE_AS_BUTTON)
    if name is None:
        return failures.append(f"packer: no download ({packed}); see web-packer-review.png")
    with tempfile.TemporaryDirectory() as scratch:
        packed_path = Path(scratch) / name
        packed_path.write_bytes(packed)
        python = os.environ.get("RAIIAF_REFERENCE_PYTHON", str(ROOT / ".venv/bin/python"))
        decoded = subprocess.run([python, str(ROOT / "tests/scripts/reference.py"), "decode", str(packed_path)],
                                 capture_output=True, text=True,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT / "tests/python")))
    try:
        summary = json.loads(decoded.stdout.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        summary = {"error": decoded.stdout[-500:] + decoded.stderr[-500:]}
    expected = {"latents": [{"key": "noise", "shape": [1, 4, 6, 8], "dtype": "float32",
                             "sha256": hashlib.sha256(latent_bytes).hexdigest()}],
                "image_sha256": hashlib.sha256(image).hexdigest(), "schema_error": None}
    got = {key: summary.get(key) for key in expected}
    if name != "lighthouse.raiiaf" or got != expected:
        failures.append(f"packer: the reference read {name} as {summary}, expected {expected}")
    else:
        print(f"web: the packer downloads {name}, which the reference reads back bit-exactly", flush=True)


def screenshot_tabs(driver, page, screenshots, failures):
    """Each tab of the example, and the time to its first complete frame (the app's ?timing)."""
    times = []
    for tab in TABS:
        driver.go(f"{page}?url=examples/aurora.raiiaf&tab={tab}&timing")
        shown = driver.run(WAIT_FOR_TITLE, "aurora.raiiaf")
        if "error" in shown:
            failures.append(f"aurora {tab}: {shown['error']}")
            continue
        driver.screenshot(Path(screenshots) / f"web-{tab}.png")
        times += [line for line in shown["log"] if "first frame" in line]
    print("web: timings:", *times, sep="\n  ", flush=True)


def main(site, binary, screenshots):
    failures = []
    links = {"fixtures": ROOT / "tests/fixtures", "examples": ROOT / "assets/examples",
             "degenerate": ROOT / "tests/fixtures/degenerate", "seeds": ROOT / "tests/fuzz/seeds/container_raiiaf"}
    with page_server(site, links) as (serve, page, driver):
        check_every_file(driver, page, binary, screenshots, failures)
        check_every_tab(driver, page, serve, screenshots, failures)
        check_drops(driver, page, binary, screenshots, failures)
        check_exports(driver, page, binary, failures)
        check_packer(driver, page, serve, screenshots, failures)
        screenshot_tabs(driver, page, screenshots, failures)
    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
