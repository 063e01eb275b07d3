//! `samsara`: the command-line tool.

fn main() {
    std::process::exit(samsara_cli::main());
}

mod samsara_cli;
