//! exec's file side (PM_VFS_EXEC from pm): read the path through the user's grant, have the file
//! system walk it, check the file, read the program name it stores (REQ_PEEK), have vm replace
//! the memory, and answer pm.
//!
//! A program file is a regular file the process may execute (EACCES otherwise) that starts with
//! `proto::PROGRAM_MAGIC` followed by the name of a program of the boot image, up to a newline or the
//! end of the file (ENOEXEC otherwise). Every check comes before vm is asked: until then the old
//! image is intact and pm answers the caller with the error. vm's VM_EXEC_NEWMEM answers 0 (old
//! memory freed, new image mapped) or an error; `proto::vm::exec_image_lost` tells the one error
//! that comes after the old memory was freed, when pm must end the process (`image_lost`). Once
//! the new image is mapped, the descriptors marked close-on-exec are closed.

use super::VfsCtx;
use super::path::read_path_kept;
use super::vnode::{PassedOn, lookup, mount};
use crate::errno::Errno;
use crate::proto::fs::{IoRequest, PEEK_MAX, REQ_PEEK, X_OK};
use crate::proto::pm::{VFS_PM_EXEC_REPLY, VfsExecReply, VfsExecRequest};
use crate::proto::vfs::kind;
use crate::proto::vm::{VM_EXEC_NEWMEM, VmExecRequest, exec_image_lost};
use crate::proto::{PM, PROGRAM_MAGIC, PROGRAM_NAME_MAX, VM, key_of};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;
use recovery::Requester;

/// The bytes of a program file that matter: the magic, the longest name, and its newline.
const PROGRAM_HEAD: usize = PROGRAM_MAGIC.len() + PROGRAM_NAME_MAX + 1;
const _: () = assert!(PROGRAM_HEAD <= PEEK_MAX, "a program file's head comes back in one peek");

/// Why an exec failed, and whether the old image survived.
struct Failure {
    errno: Errno,
    image_lost: bool,
}

impl From<Errno> for Failure {
    fn from(errno: Errno) -> Failure {
        Failure { errno, image_lost: false }
    }
}

/// PM_VFS_EXEC: load the program a file names into the process pm names.
pub fn do_pm_exec(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let req: VfsExecRequest = ctx.m.get();
    let reply = match load(ctx, &req) {
        Ok(program) => VfsExecReply { proc: req.proc, status: 0, image_lost: false, program },
        Err(f) => VfsExecReply {
            proc: req.proc,
            status: f.errno.status(),
            image_lost: f.image_lost,
            program: [0; PROGRAM_NAME_MAX],
        },
    };
    let _ = ctx.send(PM, Message::with(VFS_PM_EXEC_REPLY, &reply));
    Handled::NoReply
}

fn load(ctx: &mut VfsCtx<'_>, req: &VfsExecRequest) -> Result<[u8; PROGRAM_NAME_MAX], Failure> {
    let on_behalf = Requester::new(key_of(req.proc));
    let fp = ctx.state.fprocs.get_own(&on_behalf).filter(|f| f.ep == req.proc).cloned().ok_or(Errno::ESRCH)?;
    if ctx.state.suspended.get_own(&on_behalf).is_some_and(Option::is_some) {
        // A call of this process is suspended here (sent without waiting): exec would close the
        // descriptors it waits on (close-on-exec), so it is refused as any other call is.
        return Err(Errno::EBUSY.into());
    }
    read_path_kept(ctx, req.proc, req.path_grant, req.path_len)?;
    let fs = mount(ctx).fs;
    let path = PassedOn::new(ctx.proc, fs, req.proc, req.path_grant, req.path_len.into(), Access::Read);
    let file = lookup(ctx, &fp, &path, 0, req.path_len, 0)?;
    drop(path);
    let executable = crate::proto::fs::permitted(file.mode, file.uid, file.gid, false, fp.uid, fp.gid, X_OK);
    if file.kind != kind::REGULAR || !executable {
        return Err(Errno::EACCES.into());
    }
    let size = file.size;
    let peek = IoRequest { ino: file.ino, grant: 0, pos: 0, len: PROGRAM_HEAD as u64 };
    let answer = ctx.sendrec(fs, Message::with(REQ_PEEK, &peek))?;
    let count = usize::try_from(answer.m_type).unwrap_or(0).min(PEEK_MAX);
    let name = program_name(&answer.payload[..count]).ok_or(Errno::ENOEXEC)?;
    let known = std::str::from_utf8(name).ok().is_some_and(|n| ctx.proc.sys_has_program(n).unwrap_or(false));
    if !known {
        return Err(Errno::ENOEXEC.into());
    }
    let mut program = [0u8; PROGRAM_NAME_MAX];
    program[..name.len()].copy_from_slice(name);
    let request = VmExecRequest { proc: req.proc, text_bytes: size };
    match ctx.sendrec(VM, Message::with(VM_EXEC_NEWMEM, &request)) {
        Ok(_) => {
            // The new image is in: exec can no longer fail, so close-on-exec descriptors go now.
            super::fcntl::close_on_exec(ctx, &on_behalf);
            Ok(program)
        }
        Err(errno) => Err(Failure { errno, image_lost: exec_image_lost(errno) }),
    }
}

/// The program name a program file's first bytes store, if they are one.
fn program_name(head: &[u8]) -> Option<&[u8]> {
    let rest = head.strip_prefix(PROGRAM_MAGIC)?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let name = &rest[..end];
    (!name.is_empty() && name.len() <= PROGRAM_NAME_MAX && !name.contains(&0)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_names_need_the_magic_and_a_sane_name() {
        let file = |rest: &[u8]| [PROGRAM_MAGIC, rest].concat();
        assert_eq!(program_name(&file(b"true\n")), Some(&b"true"[..]));
        assert_eq!(program_name(&file(b"cat")), Some(&b"cat"[..]));
        assert_eq!(program_name(&file(b"\n")), None);
        assert_eq!(program_name(&file(&[b'x'; PROGRAM_NAME_MAX + 1])), None);
        assert_eq!(program_name(b"#!/bin/sh\n"), None);
        assert_eq!(program_name(b""), None);
    }
}
