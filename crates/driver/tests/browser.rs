//! The HTML report in a real headless browser (Debian's chromium): every
//! image loads with a non-zero size and the page logs nothing to the
//! console; and every chart's layout holds with the fonts the browser
//! really uses: the legend box (from the chart's data attributes) overlaps
//! no plotting area, no legend label runs into a plot or off the image,
//! and no panel draws more than the agreed number of series. A copy of one
//! chart with its legend moved onto a plot is checked beside them and must
//! be caught, so the check is seen to fail. Skipped with a note when
//! chromium is not installed, unless MPMT_REQUIRE_BROWSER=1 (as in CI),
//! which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MPMT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn attr(dom: &str, name: &str) -> Option<u32> {
    let key = format!("{name}=\"");
    let i = dom.find(&key)? + key.len();
    dom[i..].split('"').next()?.parse().ok()
}

/// Loads `page` in headless chromium; returns the DOM after its scripts
/// ran, and the browser's log.
fn dump_dom(browser: &Path, page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {log}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), log)
}

/// Checks each inline SVG of the page: the data attributes' legend box
/// against the plot boxes, and the legend's text as the browser measures
/// it. Writes `data-layout-checked` and one `data-faults` per chart.
const LAYOUT_SCRIPT: &str = r#"
window.addEventListener('load', function () {
  function rects(s) { return (s || '').split(';').filter(function (x) { return x; })
    .map(function (x) { return x.split(',').map(Number); }); }
  function hit(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }
  var charts = document.querySelectorAll('div.chart'), checked = 0;
  charts.forEach(function (div) {
    var svg = div.querySelector('svg'), faults = [];
    var plots = rects(svg.getAttribute('data-plots'));
    var legend = rects(svg.getAttribute('data-legend'))[0];
    var max = Number(svg.getAttribute('data-max-series'));
    var width = Number(svg.getAttribute('width'));
    rects(svg.getAttribute('data-series')).forEach(function (n, i) {
      if (n[0] > max) faults.push('plot ' + i + ' draws ' + n[0] + ' series');
    });
    plots.forEach(function (p, i) {
      if (legend && hit(legend, p)) faults.push('legend box overlaps plot ' + i);
    });
    svg.querySelectorAll('text').forEach(function (t) {
      if (t.getAttribute('transform')) return;
      var b = t.getBBox(), r = [b.x, b.y, b.x + b.width, b.y + b.height];
      if (r[2] > width + 1 || r[0] < -1) faults.push('text "' + t.textContent.trim() + '" leaves the image');
      var cy = (r[1] + r[3]) / 2;
      if (!legend || cy < legend[1] || cy > legend[3]) return;
      plots.forEach(function (p, i) {
        if (hit(r, p)) faults.push('legend label "' + t.textContent.trim() + '" overlaps plot ' + i);
      });
    });
    div.setAttribute('data-faults', faults.join(' | '));
    checked++;
  });
  document.body.setAttribute('data-layout-checked', checked);
});
"#;

/// A page with every chart of `dir` inline (so the browser lays out their
/// text), and a copy of the first with its legend moved onto its first
/// plot: the negative control.
fn layout_page(dir: &Path) -> (PathBuf, Vec<String>) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    files.sort();
    let mut html = format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script>{LAYOUT_SCRIPT}</script></head><body>");
    for f in &files {
        let svg = std::fs::read_to_string(dir.join(f)).unwrap();
        html += &format!("<div class=\"chart\" data-file=\"{f}\">{svg}</div>");
    }
    let first = std::fs::read_to_string(dir.join(&files[0])).unwrap();
    let attr = |s: &str, name: &str| -> String {
        let key = format!("{name}=\"");
        let i = s.find(&key).unwrap() + key.len();
        s[i..].split('"').next().unwrap().to_string()
    };
    let plot = attr(&first, "data-plots")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let legend = attr(&first, "data-legend");
    let broken = first.replacen(
        &format!("data-legend=\"{legend}\""),
        &format!("data-legend=\"{plot}\""),
        1,
    );
    html += &format!("<div class=\"chart\" data-file=\"negative-control\">{broken}</div>");
    html += "</body></html>";
    let page = dir.join("layout-check.html");
    std::fs::write(&page, html).unwrap();
    (page, files)
}

/// Each chart's faults from the checked DOM, by file.
fn faults(dom: &str) -> Vec<(String, String)> {
    dom.split("<div class=\"chart\" ")
        .skip(1)
        .map(|d| {
            let get = |name: &str| {
                let key = format!("{name}=\"");
                d.find(&key)
                    .map(|i| d[i + key.len()..].split('"').next().unwrap().to_string())
                    .unwrap_or_else(|| format!("<no {name}: the check did not run>"))
            };
            (get("data-file"), get("data-faults"))
        })
        .collect()
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        let msg =
            "chromium is not installed, so the browser check of the HTML report was skipped; \
                   install it with `apt-get install chromium` (Debian) to run it";
        assert!(std::env::var("MPMT_REQUIRE_BROWSER").is_err(), "{msg}");
        eprintln!("note: {msg}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/fixtures/run-a/results.json");
    std::fs::copy(fixture, dir.path().join("results.json")).unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_mpmt"))
        .arg("report")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let (dom, log) = dump_dom(&browser, &dir.path().join("index.html"));
    let total = attr(&dom, "data-images-total")
        .unwrap_or_else(|| panic!("the page's load check did not run; stderr: {log}"));
    let ok = attr(&dom, "data-images-ok").unwrap();
    assert_eq!(total, 14, "index.html should show 14 charts");
    assert_eq!(ok, total, "{} of {total} images failed to load", total - ok);
    assert!(
        !dom.contains("<p class=\"broken\""),
        "a broken-image marker was inserted"
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");

    // Layout, measured with the browser's own fonts.
    let (page, files) = layout_page(dir.path());
    assert_eq!(files.len(), 14, "{files:?}");
    let (dom, _) = dump_dom(&browser, &page);
    assert_eq!(
        attr(&dom, "data-layout-checked"),
        Some(15),
        "the layout check did not run over 14 charts and the control"
    );
    for (file, fault) in faults(&dom) {
        if file == "negative-control" {
            assert!(
                fault.contains("legend box overlaps plot 0"),
                "the check missed a legend moved onto a plot: `{fault}`"
            );
        } else {
            assert_eq!(fault, "", "{file}: layout faults");
        }
    }
}
