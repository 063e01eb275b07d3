//! Mutation fixtures: ordinary variations of server code, each valid Rust a developer could write,
//! added as a new pm entry point to a copy of the servers. For each, the analysis must give a
//! correct row (the write or request found) or a pessimistic one (class G with the construct it
//! did not follow named, with its place) - never an optimistic one. A change to the servers'
//! state shape that bypasses the tracked containers is an error naming the field.

mod common;

use analysis::Analysis;
use common::{Copy, display};
use recovery::{RecoveryClass, StateClass, TableRow};

/// The probe's message type: a free number in pm's range (`PM_BASE + 0x7E`).
const HEADER: &str = r#"//! probe: an entry point added by a mutation test.

use super::state::PmState;
use crate::task::{Ctx, Handled};
use kernel_sim::msgtype::PM_BASE;
use kernel_sim::{Message, MsgType};

/// The probe.
pub const PM_PROBE: MsgType = PM_BASE + 0x7E;

fn done() -> Handled {
    Handled::Reply(Ok(Message::new(0)))
}
"#;

/// A copy of the servers with `body` (defining `do_probe`) as pm's probe entry point.
fn probe(name: &str, body: &str) -> Copy {
    let copy = Copy::new(&format!("mutation-{name}"));
    copy.write("pm/probe.rs", &format!("{HEADER}\n{body}"));
    copy.edit("pm/mod.rs", |t| t.replacen("pub mod state;", "pub mod probe;\npub mod state;", 1));
    copy.edit("pm/table.rs", |t| {
        let t = t.replacen("use crate::task::Call;", "use crate::task::Call;\nuse super::probe::{self, PM_PROBE};", 1);
        let end = t.rfind("];").expect("the table ends");
        format!(
            "{}    Call {{ m_type: PM_PROBE, name: \"probe\", handler: probe::do_probe }},\n{}",
            &t[..end],
            &t[end..]
        )
    });
    copy
}

fn analyzed(copy: &Copy) -> Analysis {
    copy.analyze().unwrap_or_else(|e| panic!("the edited copy analyses: {e}"))
}

fn row(a: &Analysis) -> &TableRow {
    a.table.rows.iter().find(|r| r.server == "pm" && r.call == "probe").expect("the probe's row")
}

/// The row writes pm's `field` globally: found exactly.
fn assert_writes(row: &TableRow, field: &str) {
    assert_eq!(row.class, RecoveryClass::G, "{row:#?}");
    let pm = row.fields.get("pm").expect("pm's fields");
    assert!(pm.contains(&(field.to_string(), StateClass::Global)), "{field} is written: {row:#?}");
}

/// The row is class G because of a construct the analysis did not follow, named with its place
/// in the probe's file.
fn assert_pessimistic(row: &TableRow, kind: &str) {
    assert_eq!(row.class, RecoveryClass::G, "{row:#?}");
    let file = display("pm/probe.rs:");
    assert!(
        row.unknown_effects.iter().any(|u| u.contains(kind) && u.contains(&file)),
        "the row names the {kind} it did not follow: {:?}",
        row.unknown_effects
    );
}

/// The row of a probe that changes nothing: class R and nothing unknown (precision kept).
fn assert_read_only(row: &TableRow) {
    assert_eq!(row.class, RecoveryClass::R, "{row:#?}");
    assert!(row.unknown_effects.is_empty(), "{:?}", row.unknown_effects);
}

#[test]
fn a_write_inside_a_local_macro_is_expanded() {
    let copy = probe(
        "macro",
        r#"
macro_rules! bump_pid {
    ($state:expr, $by:expr) => {
        let next = *$state.next_pid.get();
        $state.next_pid.set(next + $by);
    };
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    bump_pid!(ctx.state, 1);
    done()
}
"#,
    );
    let a = analyzed(&copy);
    assert_writes(row(&a), "pm.next_pid");
    assert!(row(&a).unknown_effects.is_empty(), "a simple macro is followed exactly: {:?}", row(&a).unknown_effects);
}

#[test]
fn a_macro_with_repetitions_is_expanded() {
    let copy = probe(
        "macro-repeat",
        r#"
macro_rules! set_each {
    ($state:expr; $($value:expr),*) => {
        $( $state.next_pid.set($value); )*
    };
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    set_each!(ctx.state; 5, 6);
    done()
}
"#,
    );
    let a = analyzed(&copy);
    assert_writes(row(&a), "pm.next_pid");
    assert!(row(&a).unknown_effects.is_empty(), "{:?}", row(&a).unknown_effects);
}

#[test]
fn a_macro_the_analysis_cannot_tell_makes_the_row_pessimistic() {
    // Two macros of one name in different modules: which one an invocation means depends on
    // textual scope, which the analysis does not model.
    let copy = probe(
        "macro-ambiguous",
        r#"
mod quiet {
    macro_rules! touch {
        ($state:expr) => {};
    }
}

macro_rules! touch {
    ($state:expr) => {
        $state.next_pid.set(1);
    };
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    touch!(ctx.state);
    done()
}
"#,
    );
    let a = analyzed(&copy);
    assert_pessimistic(row(&a), "macro");
    let stats = a.statistics();
    assert!(
        stats.not_followed.iter().any(|n| n.kind == "macro" && n.site.starts_with(&display("pm/probe.rs:"))),
        "the statistics list it: {:?}",
        stats.not_followed
    );
}

#[test]
fn an_unknown_macro_makes_the_row_pessimistic() {
    let copy = probe(
        "macro-foreign",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    some_crate::poke!(ctx.state);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "macro");
}

#[test]
fn an_item_macro_of_the_servers_is_expanded() {
    let copy = probe(
        "item-macro",
        r#"
macro_rules! setter {
    ($name:ident, $field:ident) => {
        fn $name(s: &mut PmState, v: crate::proto::Pid) {
            s.$field.set(v);
        }
    };
}

setter!(set_next, next_pid);

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    set_next(ctx.state, 4);
    done()
}
"#,
    );
    let a = analyzed(&copy);
    assert_writes(row(&a), "pm.next_pid");
}

#[test]
fn a_call_into_code_the_analysis_cannot_see_makes_the_row_pessimistic() {
    // `helper` would come from an item macro of another crate: nothing the analysis can read.
    let copy = probe(
        "invisible-call",
        r#"
other_crate::make_helper!();

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    self::helper(ctx.state);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "call");
}

#[test]
fn a_call_through_a_generic_bound_reaches_every_implementation() {
    let copy = probe(
        "generic",
        r#"
pub trait Touch {
    fn touch(&mut self);
}

impl Touch for PmState {
    fn touch(&mut self) {
        self.next_pid.set(7);
    }
}

fn through<S: Touch>(s: &mut S) {
    s.touch();
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    through(ctx.state);
    done()
}
"#,
    );
    assert_writes(row(&analyzed(&copy)), "pm.next_pid");
}

#[test]
fn a_write_in_a_trait_default_method_is_seen() {
    let copy = probe(
        "default-method",
        r#"
pub trait PidSource {
    fn state(&mut self) -> &mut PmState;

    fn bump_pid(&mut self) {
        let s = self.state();
        let next = *s.next_pid.get();
        s.next_pid.set(next + 1);
    }
}

impl PidSource for PmState {
    fn state(&mut self) -> &mut PmState {
        self
    }
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    ctx.state.bump_pid();
    done()
}
"#,
    );
    assert_writes(row(&analyzed(&copy)), "pm.next_pid");
}

#[test]
fn a_mutator_called_in_ufcs_form_is_a_write() {
    let copy = probe(
        "ufcs",
        r#"
use recovery::TrackedCell;

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    TrackedCell::set(&mut ctx.state.next_pid, 9);
    done()
}
"#,
    );
    assert_writes(row(&analyzed(&copy)), "pm.next_pid");
}

const STEPS: &str = r#"
fn leave(_: &mut PmState) {}

fn renumber(s: &mut PmState) {
    s.next_pid.set(3);
}
"#;

#[test]
fn handlers_in_a_static_table_of_function_values_are_followed() {
    let body = format!(
        "{STEPS}
static STEPS: [fn(&mut PmState); 2] = [leave, renumber];

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {{
    for step in STEPS.iter() {{
        step(ctx.state);
    }}
    done()
}}
"
    );
    assert_writes(row(&analyzed(&probe("static-table", &body))), "pm.next_pid");
}

#[test]
fn handlers_in_a_local_table_of_function_values_are_followed() {
    let body = format!(
        "{STEPS}
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {{
    let steps: [fn(&mut PmState); 2] = [leave, renumber];
    let pick = ctx.m.m_type as usize % steps.len();
    steps[pick](ctx.state);
    done()
}}
"
    );
    assert_writes(row(&analyzed(&probe("local-table", &body))), "pm.next_pid");
}

#[test]
fn a_function_value_from_elsewhere_reaches_every_function_whose_address_is_taken() {
    let body = format!(
        "{STEPS}
/// Picks a step: which one is decided at run time.
pub fn pick(n: usize) -> fn(&mut PmState) {{
    if n == 0 {{ leave }} else {{ renumber }}
}}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {{
    let step = pick(ctx.m.m_type as usize);
    step(ctx.state);
    done()
}}
"
    );
    assert_writes(row(&analyzed(&probe("fn-value", &body))), "pm.next_pid");
}

#[test]
fn a_request_sent_with_send_is_fused() {
    let copy = probe(
        "send",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let _ = ctx.send(crate::proto::VM, Message::new(crate::proto::vm::VM_FORK));
    done()
}
"#,
    );
    let a = analyzed(&copy);
    let r = row(&a);
    assert_eq!(r.class, RecoveryClass::G, "{r:#?}");
    assert!(r.send_sites.iter().any(|s| s.to == "vm" && s.call == "vm_fork"), "{:?}", r.send_sites);
    assert_eq!(r.depends_on, ["vm"]);
}

#[test]
fn a_request_sent_with_the_kernels_sendnb_is_fused() {
    let copy = probe(
        "sendnb",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let _ = ctx.proc.sendnb(crate::proto::VM, Message::new(crate::proto::vm::VM_FORK));
    done()
}
"#,
    );
    let a = analyzed(&copy);
    let r = row(&a);
    assert_eq!(r.class, RecoveryClass::G, "{r:#?}");
    assert!(r.send_sites.iter().any(|s| s.to == "vm" && s.call == "vm_fork"), "{:?}", r.send_sites);
}

#[test]
fn a_requester_made_from_another_key_writes_globally() {
    let copy = probe(
        "requester",
        r#"
use recovery::Requester;

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let victim = Requester::new(crate::proto::key_of(crate::proto::VFS));
    if let Some(p) = ctx.state.procs.get_own_mut(&victim) {
        p.uid = 0;
    }
    done()
}
"#,
    );
    let a = analyzed(&copy);
    let r = row(&a);
    assert_writes(r, "pm.procs");
    assert!(
        !r.fields["pm"].contains(&("pm.procs".to_string(), StateClass::ProcessLocal)),
        "a key that does not come from the request is no process-local write: {r:#?}"
    );
}

#[test]
fn a_requester_made_from_the_requests_payload_stays_process_local() {
    let copy = probe(
        "requester-payload",
        r#"
use recovery::Requester;

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let on_behalf = Requester::new(crate::proto::key_of(ctx.m.source));
    if let Some(p) = ctx.state.procs.get_own_mut(&on_behalf) {
        p.uid = 0;
    }
    done()
}
"#,
    );
    let a = analyzed(&copy);
    let r = row(&a);
    assert_eq!(r.class, RecoveryClass::P, "{r:#?}");
    assert_eq!(r.fields["pm"], [("pm.procs".to_string(), StateClass::ProcessLocal)]);
}

#[test]
fn a_kernel_call_made_directly_is_classed_by_what_it_does() {
    let copy = probe(
        "direct-kernel",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let _ = ctx.proc.sys_kill(crate::proto::VFS);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "sys_kill");
}

#[test]
fn a_kernel_call_with_a_lying_label_is_classed_by_what_it_does() {
    let copy = probe(
        "lying-label",
        r#"
use kernel_sim::KernelCall;

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let target = crate::proto::VFS;
    let _ = ctx.kernel(KernelCall::GetInfo, |k| k.sys_kill(target));
    done()
}
"#,
    );
    let a = analyzed(&copy);
    let r = row(&a);
    assert_eq!(r.class, RecoveryClass::G, "{r:#?}");
    assert!(r.send_sites.iter().any(|s| s.to == "kernel" && s.class == RecoveryClass::G), "{:?}", r.send_sites);
}

#[test]
fn a_read_only_kernel_call_stays_read_only() {
    let copy = probe(
        "read-only-kernel",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let who = ctx.who();
    let _ = ctx.proc.sys_procinfo(who);
    done()
}
"#,
    );
    assert_read_only(row(&analyzed(&copy)));
}

#[test]
fn an_untracked_field_in_a_servers_state_is_an_error_naming_it() {
    let copy = probe(
        "untracked",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    ctx.state.scratch += 1;
    done()
}
"#,
    );
    copy.edit("pm/state.rs", |t| {
        let t =
            t.replacen("pub struct PmState {", "pub struct PmState {\n    /// Untracked.\n    pub scratch: u32,", 1);
        t.replacen("let mut state = PmState {", "let mut state = PmState {\n            scratch: 0,", 1)
    });
    let e = copy.analyze().err().expect("an untracked field is an error");
    assert_eq!(e.file, display("pm/state.rs"), "{e}");
    assert!(e.message.contains("scratch"), "{e}");
}

#[test]
fn a_write_in_a_drop_the_language_calls_is_seen() {
    let copy = probe(
        "drop",
        r#"
/// Moves the pid allocator on when the request's scope ends.
struct BumpOnDrop<'a>(&'a mut PmState);

impl Drop for BumpOnDrop<'_> {
    fn drop(&mut self) {
        self.0.next_pid.set(11);
    }
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let _bump = BumpOnDrop(ctx.state);
    done()
}
"#,
    );
    assert_writes(row(&analyzed(&copy)), "pm.next_pid");
}

#[test]
fn an_interior_mutable_static_makes_the_row_pessimistic() {
    let copy = probe(
        "static-state",
        r#"
use std::sync::atomic::{AtomicU32, Ordering};

/// Requests seen: state outside the tracked containers.
static SEEN: AtomicU32 = AtomicU32::new(0);

pub fn do_probe(_ctx: &mut Ctx<'_, PmState>) -> Handled {
    SEEN.fetch_add(1, Ordering::Relaxed);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "static");
}

#[test]
fn a_tracked_field_its_state_macro_does_not_list_is_an_error_naming_it() {
    let copy = probe(
        "unlisted",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    ctx.state.scratch.set(1);
    done()
}
"#,
    );
    copy.edit("pm/state.rs", |t| {
        let t = t.replacen(
            "pub struct PmState {",
            "pub struct PmState {\n    /// Tracked, but not checkpointed.\n    pub scratch: TrackedCell<u32>,",
            1,
        );
        t.replacen(
            "let mut state = PmState {",
            "let mut state = PmState {\n            scratch: TrackedCell::new(&journal, \"pm.scratch\", StateClass::Global, 0),",
            1,
        )
    });
    let e = copy.analyze().err().expect("an unlisted tracked field is an error");
    assert_eq!(e.file, display("pm/state.rs"), "{e}");
    assert!(e.message.contains("PmState.scratch") && e.message.contains("tracked_state"), "{e}");
}

#[test]
fn a_kernel_call_the_analysis_does_not_model_makes_the_row_pessimistic() {
    let copy = probe(
        "proc-method",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    ctx.proc.set_fork_body(None);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "Proc::set_fork_body");
}

#[test]
fn a_function_item_nested_in_a_body_makes_the_row_pessimistic() {
    let copy = probe(
        "nested-fn",
        r#"
pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    fn renumber(s: &mut PmState) {
        s.next_pid.set(2);
    }
    renumber(ctx.state);
    done()
}
"#,
    );
    assert_pessimistic(row(&analyzed(&copy)), "renumber");
}

#[test]
fn a_requester_key_passed_through_a_helper_is_traced_to_its_callers() {
    let body = |key: &str| {
        format!(
            r#"
use recovery::Requester;

fn act_for(ctx: &mut Ctx<'_, PmState>, ep: kernel_sim::Endpoint) {{
    let on_behalf = Requester::new(crate::proto::key_of(ep));
    if let Some(p) = ctx.state.procs.get_own_mut(&on_behalf) {{
        p.uid = 0;
    }}
}}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {{
    let ep = {key};
    act_for(ctx, ep);
    done()
}}
"#
        )
    };
    let from_request = analyzed(&probe("helper-key-request", &body("ctx.m.source")));
    assert_eq!(row(&from_request).fields["pm"], [("pm.procs".to_string(), StateClass::ProcessLocal)]);
    let made_up = analyzed(&probe("helper-key-constant", &body("crate::proto::VFS")));
    assert_writes(row(&made_up), "pm.procs");
    assert!(
        made_up
            .statistics()
            .not_followed
            .iter()
            .any(|n| n.kind == "requester" && n.site.starts_with(&display("pm/probe.rs:"))),
        "the unproven key is listed with its place"
    );
}

#[test]
fn a_closure_kept_in_a_struct_makes_the_row_pessimistic() {
    let copy = probe(
        "stored-closure",
        r#"
/// A step kept for later.
struct Hook {
    run: fn(&mut PmState),
}

pub fn do_probe(ctx: &mut Ctx<'_, PmState>) -> Handled {
    let hook = Hook { run: |s: &mut PmState| s.next_pid.set(1) };
    (hook.run)(ctx.state);
    done()
}
"#,
    );
    let a = analyzed(&copy);
    assert_pessimistic(row(&a), "closure");
    assert_pessimistic(row(&a), "stored function value");
}
