//! `samsara`: the command-line tool.

fn main() {
    restore_default_sigpipe();
    std::process::exit(samsara_cli::main());
}

/// A reader that stops early (`samsara replay ... | head`) closes the output: the tool then ends
/// quietly, killed by SIGPIPE as a C tool is (a shell shows 141), instead of panicking on the
/// failed write. Rust programs start with SIGPIPE ignored; this puts back the default action.
#[cfg(unix)]
fn restore_default_sigpipe() {
    /// Linux's and the BSDs' number for SIGPIPE, and the default action's handler value.
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: setting a signal's disposition to its default is async-signal-safe and done before
    // any thread starts.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}

mod samsara_cli;
