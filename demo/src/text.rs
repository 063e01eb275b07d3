//! The story for a terminal: a header per run, then numbered steps of lines, each line with the
//! event number and time it tells, coloured by what it is (ANSI colours when asked for).

use crate::scenario::Scenario;
use crate::story::{Step, Tone};
use crate::{Demo, DemoRun};
use std::fmt::Write;

/// ANSI "reset all attributes".
const RESET: &str = "\x1b[0m";

/// The ANSI attributes of a tone.
fn ansi(tone: Tone) -> &'static str {
    match tone {
        Tone::Message | Tone::Plain => "",
        Tone::Answer => "\x1b[34m",
        Tone::Heartbeat => "\x1b[90m",
        Tone::Kernel => "\x1b[2m",
        Tone::Note => "\x1b[36m",
        Tone::Checkpoint => "\x1b[1;33m",
        Tone::Window => "\x1b[33m",
        Tone::Crash => "\x1b[1;31m",
        Tone::Detection => "\x1b[1;33m",
        Tone::Decision => "\x1b[1;35m",
        Tone::Recovery => "\x1b[1;32m",
        Tone::Halt => "\x1b[1;97;41m",
        Tone::Good => "\x1b[1;32m",
        Tone::Bad => "\x1b[1;31m",
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour && !code.is_empty() { format!("{code}{text}{RESET}") } else { text.to_string() }
}

/// The list `samsara demo` prints with no scenario.
pub fn listing(colour: bool) -> String {
    let mut out = String::from("Scenarios (samsara demo SCENARIO [--step] [--html FILE]):\n");
    for s in Scenario::ALL {
        let _ = writeln!(out, "  {}  {}", paint(colour, "\x1b[1m", &format!("{:<14}", s.name())), s.summary());
    }
    out += "  all             every scenario above, one after the other\n";
    out
}

/// The header of a run.
pub fn run_header(demo: &Demo, index: usize, colour: bool) -> String {
    let run = &demo.runs[index];
    let mut out = String::new();
    if index == 0 {
        let title = format!("━━ samsara demo: {} ━━", demo.heading.name);
        let _ = writeln!(out, "{}", paint(colour, "\x1b[1;7m", &title));
        let _ = writeln!(out, "{}", demo.heading.summary);
    }
    let _ = writeln!(
        out,
        "\n{} policy {}, fault {}, seed {}, engine sim — watch {}",
        paint(colour, "\x1b[1m", &format!("Run {} of {}:", index + 1, demo.runs.len())),
        run.policy,
        run.fault,
        demo.seed,
        run.watch
    );
    out
}

/// One step, numbered within its run.
pub fn step(s: &Step, number: usize, of: usize, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", paint(colour, "\x1b[1;4m", &format!("[{number}/{of}] {}", s.title)));
    for l in &s.lines {
        let place = match (l.seq, l.time) {
            (Some(seq), Some(time)) => format!("#{seq:<4} {time:>9}us"),
            _ => " ".repeat(17),
        };
        let _ = writeln!(out, "  {}  {}", paint(colour, "\x1b[90m", &place), paint(colour, ansi(l.tone), &l.text));
    }
    out
}

/// The pages `--step` pauses between: each step, the first of each run with its header.
pub fn pages(demo: &Demo, colour: bool) -> Vec<String> {
    let mut pages = Vec::new();
    for (i, run) in demo.runs.iter().enumerate() {
        pages.extend(run_pages(demo, i, run, colour));
    }
    pages
}

fn run_pages(demo: &Demo, index: usize, run: &DemoRun, colour: bool) -> Vec<String> {
    let total = run.story.steps.len();
    run.story
        .steps
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let body = step(s, k + 1, total, colour);
            if k == 0 { run_header(demo, index, colour) + &body } else { body }
        })
        .collect()
}

/// The whole story as one text.
pub fn render(demo: &Demo, colour: bool) -> String {
    pages(demo, colour).concat()
}
