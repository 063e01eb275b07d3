//! Small user programs for exec tests and workloads: `echo`, `cat`, `exit_with`.
//!
//! They follow the Unix conventions: `argv[0]` is the program's name, descriptor 0 is standard
//! input and 1 standard output (whatever the parent left open there: exec keeps descriptors), and
//! the exit status is 0 on success, 1 on an error.

use crate::libc::Sys;
use os::proto::vfs::flags::O_RDONLY;

/// Standard input.
const STDIN: i32 = 0;
/// Standard output.
const STDOUT: i32 = 1;
/// Bytes `cat` moves per read.
const CAT_CHUNK: usize = 4096;

/// `echo ARGS...`: writes the arguments, space-separated, and a newline to standard output.
pub fn echo(sys: &Sys<'_>, argv: &[String]) -> i32 {
    let mut line = argv.iter().skip(1).map(String::as_str).collect::<Vec<_>>().join(" ");
    line.push('\n');
    match sys.write(STDOUT, line.as_bytes()) {
        Ok(n) if n == line.len() => 0,
        _ => 1,
    }
}

/// `cat [FILES...]`: copies each file (or standard input, with none) to standard output.
pub fn cat(sys: &Sys<'_>, argv: &[String]) -> i32 {
    if argv.len() < 2 {
        return copy(sys, STDIN);
    }
    let mut status = 0;
    for path in &argv[1..] {
        match sys.open(path, O_RDONLY, 0) {
            Ok(fd) => {
                status |= copy(sys, fd);
                let _ = sys.close(fd);
            }
            Err(_) => status = 1,
        }
    }
    status
}

/// Copies `fd` to standard output until the end.
fn copy(sys: &Sys<'_>, fd: i32) -> i32 {
    let mut buf = vec![0u8; CAT_CHUNK];
    loop {
        match sys.read(fd, &mut buf) {
            Ok(0) => return 0,
            Ok(n) => {
                if sys.write(STDOUT, &buf[..n]) != Ok(n) {
                    return 1;
                }
            }
            Err(_) => return 1,
        }
    }
}

/// `exit_with CODE`: exits with CODE (0 when missing or not a number).
pub fn exit_with(_: &Sys<'_>, argv: &[String]) -> i32 {
    argv.get(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}
