//! The analysis works on whatever source it is given, not on a frozen copy: a new handler added to
//! a copy of `os/src` (a row in pm's table, a new file) that writes global state through a
//! helper in another file, or only through an IPC to another server whose type is a parameter of
//! a helper (resolved by inlining the caller), comes out class G with no change to the analysis.
//! Malformed input is an error naming the file and the position.

use analysis::{AnalysisError, Inputs};
use recovery::RecoveryClass;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the source") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A fresh copy of os/src in a directory of its own; removed when dropped.
struct Copy {
    dir: PathBuf,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("samsara-analysis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&workspace().join("os/src"), &dir.join("src"));
        Copy { dir }
    }

    fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.src().join(file), text).expect("write a file of the copy");
    }

    fn edit(&self, file: &str, edit: impl FnOnce(String) -> String) {
        let path = self.src().join(file);
        let text = std::fs::read_to_string(&path).expect("read a file of the copy");
        std::fs::write(&path, edit(text)).expect("write a file of the copy");
    }

    fn analyze(&self) -> Result<analysis::Analysis, AnalysisError> {
        let mut inputs = Inputs::workspace(&workspace());
        inputs.os_src = self.src();
        analysis::analyze(&inputs)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PROBE: &str = r#"//! probe: test entry points added to a copy of the servers.

use super::state::PmState;
use crate::task::{Ctx, Handled};
use kernel_sim::msgtype::PM_BASE;
use kernel_sim::{Message, MsgType};

/// Writes global state through a helper in another file.
pub const PM_PROBE_HELPER: MsgType = PM_BASE + 0x7E;
/// Changes state only through an IPC to vm.
pub const PM_PROBE_IPC: MsgType = PM_BASE + 0x7F;
/// Writes through a `let` alias of a `&mut` and inside a closure.
pub const PM_PROBE_ALIAS: MsgType = PM_BASE + 0x7C;
/// Sends to a destination and with a type known only at run time.
pub const PM_PROBE_ANYWHERE: MsgType = PM_BASE + 0x7D;

/// PM_PROBE_HELPER.
pub fn do_probe_helper(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let who = ctx.requester();
    if ctx.state.procs.get_own(&who).is_none() {
        return Handled::Reply(Ok(Message::new(0)));
    }
    super::probe_helpers::bump_pid(ctx.state);
    Handled::Reply(Ok(Message::new(0)))
}

/// PM_PROBE_ALIAS.
pub fn do_probe_alias(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let system = &mut ctx.state.system;
    system.set(super::state::SystemPhase::Up);
    let state = &mut *ctx.state;
    let mut bump = |by: i32| {
        let next = *state.next_pid.get();
        state.next_pid.set(next + by);
    };
    bump(1);
    Handled::Reply(Ok(Message::new(0)))
}

/// PM_PROBE_ANYWHERE: a notice to whoever asked (a destination from the request), and the
/// request itself forwarded to vfs (a type from the request).
pub fn do_probe_anywhere(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let asker = ctx.who();
    let _ = ctx.asynsend(asker, Message::new(crate::proto::pm::PM_VFS_SETID));
    let forwarded = ctx.m;
    let _ = ctx.sendrec(crate::proto::VFS, forwarded);
    Handled::NoReply
}

/// PM_PROBE_IPC.
pub fn do_probe_ipc(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let kind = crate::proto::vm::VM_FORK;
    super::probe_helpers::ask_vm(ctx, kind);
    Handled::Reply(Ok(Message::new(0)))
}
"#;

const HELPERS: &str = r#"//! Helpers of the probe entry points, in a file of their own.

use super::state::PmState;
use crate::proto::VM;
use crate::task::Ctx;
use kernel_sim::{Message, MsgType};

/// Moves the pid allocator on: a global write.
pub fn bump_pid(state: &mut PmState) {
    let next = *state.next_pid.get();
    state.next_pid.set(next + 1);
}

/// Sends a request of type `m_type` to vm: the type is known only in the caller.
pub fn ask_vm(ctx: &mut Ctx<'_, PmState>, m_type: MsgType) {
    let request = Message::new(m_type);
    let _ = ctx.sendrec(VM, request);
}
"#;

fn add_probe(copy: &Copy) {
    copy.write("pm/probe.rs", PROBE);
    copy.write("pm/probe_helpers.rs", HELPERS);
    copy.edit("pm/mod.rs", |t| {
        t.replacen("pub mod state;", "pub mod probe;\npub mod probe_helpers;\npub mod state;", 1)
    });
    copy.edit("pm/table.rs", |t| {
        let t = t.replacen(
            "use crate::task::Call;",
            "use crate::task::Call;\nuse super::probe::{self, PM_PROBE_ALIAS, PM_PROBE_ANYWHERE, PM_PROBE_HELPER, PM_PROBE_IPC};",
            1,
        );
        let rows = "    Call { m_type: PM_PROBE_ALIAS, name: \"probe_alias\", handler: probe::do_probe_alias },\n    \
                    Call { m_type: PM_PROBE_ANYWHERE, name: \"probe_anywhere\", handler: probe::do_probe_anywhere },\n    \
                    Call { m_type: PM_PROBE_HELPER, name: \"probe_helper\", handler: probe::do_probe_helper },\n    \
                    Call { m_type: PM_PROBE_IPC, name: \"probe_ipc\", handler: probe::do_probe_ipc },\n];";
        let end = t.rfind("];").expect("the table ends");
        format!("{}{}{}", &t[..end], rows, &t[end + 2..])
    });
}

#[test]
fn a_new_handler_writing_global_state_through_a_helper_and_through_ipc_is_class_g() {
    let copy = Copy::new("probe");
    add_probe(&copy);
    let a = copy.analyze().unwrap_or_else(|e| panic!("the edited copy analyses: {e}"));
    let row = |call: &str| a.table.rows.iter().find(|r| r.server == "pm" && r.call == call).expect("the new row");

    let helper = row("probe_helper");
    assert_eq!(helper.class, RecoveryClass::G, "{helper:#?}");
    assert_eq!(helper.local_class, RecoveryClass::G);
    assert_eq!(helper.handler, "mx_pm_do_probe_helper");
    assert!(helper.fields["pm"].contains(&("pm.next_pid".to_string(), recovery::StateClass::Global)), "{helper:#?}");
    assert!(helper.send_sites.is_empty());

    let ipc = row("probe_ipc");
    assert_eq!(ipc.class, RecoveryClass::G, "{ipc:#?}");
    assert_eq!(ipc.local_class, RecoveryClass::R, "it writes nothing of pm's");
    assert_eq!(ipc.depends_on, ["vm"]);
    let site = &ipc.send_sites[0];
    assert_eq!((site.to.as_str(), site.call.as_str(), site.class), ("vm", "vm_fork", RecoveryClass::G));
    assert!(site.site.starts_with("os/src/pm/probe_helpers.rs:"), "{}", site.site);
    let stats = a.statistics();
    assert!(stats.send.inlined_contexts >= 1, "the type was found by inlining do_probe_ipc");

    let alias = row("probe_alias");
    let global = recovery::StateClass::Global;
    assert_eq!(alias.fields["pm"], [("pm.next_pid".to_string(), global), ("pm.system".to_string(), global)]);
    assert_eq!(alias.class, RecoveryClass::G);

    // Run-time operands fan out: the destination to every server serving the type, the type to
    // every row of the destination's table; both are counted.
    let anywhere = row("probe_anywhere");
    assert_eq!(anywhere.class, RecoveryClass::G, "{anywhere:#?}");
    assert!(anywhere.send_sites.iter().any(|s| s.to == "vfs" && s.call == "pm_vfs_setid"), "{:?}", anywhere.send_sites);
    let vfs_rows = a.table.rows.iter().filter(|r| r.server == "vfs").count();
    let forwarded =
        anywhere.send_sites.iter().filter(|s| s.to == "vfs" && s.site.ends_with(&forward_line(&copy))).count();
    assert_eq!(forwarded, vfs_rows, "a forwarded request may be any of vfs's calls");
    assert!(stats.send.runtime_destinations >= 1 && stats.fusing.multiple >= 2, "{:?}", stats.fusing);
    assert!(stats.send.unresolved.iter().any(|u| u.contains("probe.rs")), "{:?}", stats.send.unresolved);

    // The original rows did not change.
    let original = analysis::analyze_workspace(&workspace()).expect("the workspace analyses");
    for r in &original.table.rows {
        let same = a.table.rows.iter().find(|x| x.server == r.server && x.m_type == r.m_type).expect("kept");
        assert_eq!(same, r);
    }
}

/// `:LINE` of the forwarding send in the probe file.
fn forward_line(copy: &Copy) -> String {
    let text = std::fs::read_to_string(copy.src().join("pm/probe.rs")).expect("the probe file");
    let line =
        text.lines().position(|l| l.contains("ctx.sendrec(crate::proto::VFS, forwarded)")).expect("the send") + 1;
    format!(":{line}")
}

#[test]
fn a_file_that_does_not_parse_is_an_error_naming_it() {
    let copy = Copy::new("broken");
    copy.write("pm/broken.rs", "//! broken\n\npub fn do_broken( {\n}\n");
    copy.edit("pm/mod.rs", |t| t.replacen("pub mod state;", "pub mod broken;\npub mod state;", 1));
    let e = copy.analyze().err().expect("a syntax error is an error");
    assert_eq!(e.file, "os/src/pm/broken.rs");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().starts_with("os/src/pm/broken.rs:3:"), "{e}");
}

#[test]
fn a_file_outside_the_module_tree_must_still_parse() {
    let copy = Copy::new("stray");
    copy.write("vm/stray.rs", "fn (\n");
    let e = copy.analyze().err().expect("every file under os/src must parse");
    assert_eq!((e.file.as_str(), e.line), ("os/src/vm/stray.rs", Some(1)), "{e}");
}

#[test]
fn a_table_row_whose_handler_does_not_exist_is_an_error_at_the_row() {
    let copy = Copy::new("bad-table");
    copy.edit("vm/table.rs", |t| t.replacen("handler: info::do_info", "handler: info::do_nothing_at_all", 1));
    let e = copy.analyze().err().expect("an unknown handler is an error");
    assert_eq!(e.file, "os/src/vm/table.rs");
    assert!(e.line.is_some() && e.message.contains("do_nothing_at_all"), "{e}");
}

#[test]
fn the_digest_covers_every_file_of_the_os_but_its_root() {
    let copy = Copy::new("digest");
    let before = copy.analyze().expect("the copy analyses").table;
    copy.edit("lib.rs", |t| t + "\n// A comment in the crate root.\n");
    assert_eq!(copy.analyze().expect("analyses").table, before, "the crate root's text cannot change the table");
    copy.edit("fault.rs", |t| t + "\n// A comment in the fault-injection instrumentation.\n");
    let shared = copy.analyze().expect("analyses").table;
    assert_ne!(shared.provenance, before.provenance, "code linked into the servers is part of the source version");
    copy.edit("pm/getset.rs", |t| t + "\n// A comment in pm.\n");
    let after = copy.analyze().expect("analyses").table;
    assert_ne!(after.provenance, before.provenance, "any edit of a server is a new source version");
    assert_eq!(after.rows, before.rows);
}
