//! The demo's HTML page in a real browser (Debian's headless chromium): it loads with no script
//! error (its self-check sets `data-ok="true"` on `<body>`), every sequence chart has one lifeline
//! per process and one arrow per message of its run (counted in the browser's own DOM against the
//! run's facts), and a screenshot is kept under target/ as an artifact.
//!
//! Skips, saying so, where /usr/bin/chromium is absent (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromium may take to load and render the page before the test gives up.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);
/// The screenshot's size in pixels.
const WINDOW: &str = "1400,1000";

/// Prints past the test harness's capture (it captures `println!`, not the stream itself), so the
/// skip and the screenshot's path show in every test run's output.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "demo_browser: {text}");
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-browser");
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn samsara(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_samsara")).args(args).output().expect("run samsara");
    assert!(out.status.success(), "samsara {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What chromium printed and how it ended.
struct Browser {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs headless chromium on `page` with `extra` arguments, in a fresh profile; its output goes
/// through files (a page's DOM is larger than a pipe holds, and nobody reads the pipe meanwhile).
fn chromium(page: &Path, extra: &[String], name: &str) -> Browser {
    let dir = artifacts();
    let profile = dir.join(format!("{name}-profile"));
    let _ = std::fs::remove_dir_all(&profile);
    let (out_path, err_path) = (dir.join(format!("{name}.stdout")), dir.join(format!("{name}.stderr")));
    let stdout = std::fs::File::create(&out_path).expect("stdout file");
    let stderr = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll chromium") {
            let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
            return Browser { ok: status.success(), stdout: read(&out_path), stderr: read(&err_path) };
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than {BROWSER_TIMEOUT:?} on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of attribute `name` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// The opening tags of `<svg>` elements of class `sequence-chart`, in document order.
fn chart_tags(dom: &str) -> Vec<&str> {
    dom.match_indices("<svg ")
        .map(|(i, _)| &dom[i..i + dom[i..].find('>').expect("a closed tag")])
        .filter(|tag| attr(tag, "class") == Some("sequence-chart"))
        .collect()
}

#[test]
fn the_page_loads_in_chromium_and_its_charts_match_the_runs() {
    if !Path::new(CHROMIUM).exists() {
        println!(
            "SKIPPED: {CHROMIUM} is absent (Debian's chromium; .ci/run installs it) — the browser check did not run"
        );
        return;
    }
    let dir = artifacts();
    let page = dir.join("demo-all.html");
    samsara(&["demo", "all", "--html", page.to_str().expect("utf-8 path")]);
    let facts: serde_json::Value = serde_json::from_str(&samsara(&["--json", "demo", "all"])).expect("JSON");
    let runs: Vec<&serde_json::Value> =
        facts.as_array().expect("every scenario").iter().flat_map(|s| s["runs"].as_array().expect("runs")).collect();

    let out = chromium(&page, &["--dump-dom".to_string()], "dom");
    assert!(out.ok, "chromium failed: {}", out.stderr);
    let dom = out.stdout;
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find('>').expect("a closed tag")];
    assert_eq!(attr(body, "data-ok"), Some("true"), "the page's self-check ran and passed: {body}");
    assert_eq!(attr(body, "data-charts"), Some(runs.len().to_string().as_str()), "one chart per run");

    let charts = chart_tags(&dom);
    assert_eq!(charts.len(), runs.len());
    for (tag, run) in charts.iter().zip(&runs) {
        let processes = run["processes"].as_array().expect("processes").len().to_string();
        let messages = run["messages"].as_u64().expect("messages").to_string();
        let what = format!("{} {}", run["policy"], run["fault"]);
        assert_eq!(
            attr(tag, "data-drawn-lifelines"),
            Some(processes.as_str()),
            "{what}: lifelines in the browser's DOM"
        );
        assert_eq!(attr(tag, "data-drawn-messages"), Some(messages.as_str()), "{what}: arrows in the browser's DOM");
    }

    let one = dir.join("demo-window.html");
    samsara(&["demo", "window", "--html", one.to_str().expect("utf-8 path")]);
    let shot = dir.join("demo-sequence.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&one, &[format!("--screenshot={}", shot.display()), format!("--window-size={WINDOW}")], "shot");
    assert!(out.ok, "chromium failed: {}", out.stderr);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 0, "no screenshot at {}", shot.display());
    say(&format!("screenshot of the window scenario's page: {} ({size} bytes)", shot.display()));
}

/// Measures the campaign report as chromium lays it out: every bar chart's labels centred on their
/// bars, bars apart, the axis's last tick inside the chart; no replay command wrapped; nothing wider
/// than the window. The report has no script: the test runs this one on a copy of it.
const REPORT_CHECK: &str = r#"<script>
const problems = [];
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  const bars = [...svg.querySelectorAll('rect')].filter(r => r.getAttribute('fill') !== '#FFFFFF')
    .map(r => r.getBoundingClientRect());
  const rows = [...new Map(bars.map(b => [Math.round(b.top), b])).values()].sort((a, b) => a.top - b.top);
  for (let i = 1; i < rows.length; i++)
    if (rows[i].top - rows[i - 1].bottom < 4) problems.push('bars touch in ' + svg.textContent.trim().split('\n')[0]);
  for (const t of svg.querySelectorAll('text[text-anchor="end"]')) {
    const label = t.textContent.trim();
    if (!label) continue;
    const r = t.getBoundingClientRect(), mid = (r.top + r.bottom) / 2;
    if (!rows.some(b => Math.abs(mid - (b.top + b.bottom) / 2) < 5)) problems.push('label ' + label + ' off its bar');
  }
  for (const t of svg.querySelectorAll('text'))
    if (t.textContent.trim() === '100' && t.getBoundingClientRect().right > box.right) problems.push('100 clipped');
}
for (const c of document.querySelectorAll('code'))
  if (c.getClientRects().length > 1) problems.push('wrapped: ' + c.textContent);
if (document.documentElement.scrollWidth > window.innerWidth) problems.push('wider than the window');
document.body.dataset.problems = problems.join('; ');
document.body.dataset.checked = 'true';
</script>"#;

#[test]
fn the_campaign_report_reads_well_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        println!(
            "SKIPPED: {CHROMIUM} is absent (Debian's chromium; .ci/run installs it) — the browser check did not run"
        );
        return;
    }
    let dir = artifacts();
    let results = dir.join("report.jsonl");
    samsara(&["campaign", "--faults", "30", "--seed", "3", "--out", results.to_str().expect("utf-8 path")]);
    let report = std::fs::read_to_string(dir.join("report.html")).expect("the report beside the results");
    assert!(!report.contains("<script"), "the report itself runs no script");
    let page = dir.join("report-checked.html");
    std::fs::write(&page, report.replace("</body>", &format!("{REPORT_CHECK}</body>"))).expect("write");
    let out = chromium(&page, &["--dump-dom".to_string(), format!("--window-size={WINDOW}")], "report");
    assert!(out.ok, "chromium failed: {}", out.stderr);
    let body = &out.stdout[out.stdout.find("<body").expect("a body")..];
    let body = &body[..body.find('>').expect("a closed tag")];
    assert_eq!(attr(body, "data-checked"), Some("true"), "the check ran: {body}");
    assert_eq!(attr(body, "data-problems"), Some(""), "the report as laid out");
}
