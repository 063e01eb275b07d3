//! The analysis of the current servers has MINIX's known shape (the fusing paper's Table 4):
//! getters change no global state, fork depends on vm and vfs and is global, exec depends on vfs
//! and, through vfs, on vm; every row of every call table is an entry point; kernel calls carry the
//! window's codes; the paper's targets are met; two runs print the same bytes.

use analysis::Analysis;
use recovery::{RecoveryClass, TableRow};
use std::path::Path;

/// The analysis of the workspace's servers (syntax trees are not `Sync`, so each test runs its own).
fn analysis() -> Analysis {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    analysis::analyze_workspace(root).unwrap_or_else(|e| panic!("the servers' source analyses: {e}"))
}

fn row<'a>(a: &'a Analysis, server: &str, call: &str) -> &'a TableRow {
    let table = &a.table;
    table.rows.iter().find(|r| r.server == server && r.call == call).unwrap_or_else(|| {
        let calls: Vec<String> = table.rows.iter().map(|r| format!("{}/{}", r.server, r.call)).collect();
        panic!("no row {server}/{call}; rows: {calls:?}")
    })
}

#[test]
fn getters_change_no_global_state() {
    let a = analysis();
    for call in ["getpid", "getuid"] {
        let r = row(&a, "pm", call);
        assert!(r.class <= RecoveryClass::P, "{call} is {}: {r:#?}", r.class);
        assert!(r.writes.values().all(|c| c.global == 0), "{call} writes global state: {:?}", r.writes);
        assert!(r.send_sites.is_empty(), "{call} sends {:?}", r.send_sites);
        assert!(r.depends_on.is_empty(), "{call} depends on {:?}", r.depends_on);
        assert_eq!(r.handler, format!("mx_pm_do_{call}"));
    }
}

#[test]
fn fork_depends_on_vm_and_vfs_and_is_global() {
    let a = analysis();
    let r = row(&a, "pm", "fork");
    assert_eq!(r.class, RecoveryClass::G);
    assert!(
        r.depends_on.contains(&"vm".to_string()) && r.depends_on.contains(&"vfs".to_string()),
        "{:?}",
        r.depends_on
    );
    assert_eq!(r.handler, "mx_pm_do_fork");
    let to: Vec<(&str, &str)> = r.send_sites.iter().map(|s| (s.to.as_str(), s.call.as_str())).collect();
    assert!(to.contains(&("vm", "vm_fork")), "{to:?}");
    assert!(to.contains(&("vfs", "pm_vfs_fork")), "{to:?}");
    // The child's entry is somebody else's: pm writes its table globally, and the pid allocator.
    let pm_fields = &r.fields["pm"];
    assert!(pm_fields.contains(&("pm.procs".to_string(), recovery::StateClass::Global)), "{pm_fields:?}");
    assert!(pm_fields.contains(&("pm.next_pid".to_string(), recovery::StateClass::Global)), "{pm_fields:?}");
    assert!(r.writes["vm"].global > 0, "vm's frames and the child's space: {:?}", r.writes);
    assert!(r.writes["vfs"].global > 0, "vfs's shared open files: {:?}", r.writes);
}

#[test]
fn exec_depends_on_vfs_and_through_it_on_vm() {
    let a = analysis();
    let r = row(&a, "pm", "exec");
    assert!(
        r.depends_on.contains(&"vfs".to_string()) && r.depends_on.contains(&"vm".to_string()),
        "{:?}",
        r.depends_on
    );
    // pm asks only vfs; vm is reached through vfs (pm -> vfs -> vm).
    assert!(r.send_sites.iter().all(|s| s.to == "vfs"), "{:?}", r.send_sites);
    let vfs_side = a.table.rows.iter().find(|v| v.server == "vfs" && r.send_sites.iter().any(|s| s.m_type == v.m_type));
    let vfs_side = vfs_side.expect("vfs handles pm's exec request");
    assert!(vfs_side.depends_on.contains(&"vm".to_string()), "{:?}", vfs_side.depends_on);
    assert!(vfs_side.send_sites.iter().any(|s| s.to == "vm"), "{:?}", vfs_side.send_sites);
    assert_eq!(r.class, RecoveryClass::G, "a new image takes frames from vm's global free list");
}

#[test]
fn every_call_table_row_is_an_entry_point_with_a_consistent_class() {
    let a = analysis();
    let table_rows: usize = a.components.servers.iter().map(|s| s.calls.len()).sum();
    assert_eq!(a.table.rows.len(), table_rows);
    for r in &a.table.rows {
        let worst_site = r.send_sites.iter().map(|s| s.class).max().unwrap_or(RecoveryClass::R);
        assert_eq!(r.class, r.local_class.max(worst_site), "{}/{}", r.server, r.call);
        let own_worst = r.writes[&r.server].worst().unwrap_or(RecoveryClass::R);
        assert!(own_worst >= r.local_class || r.writes[&r.server] == Default::default(), "{}/{}", r.server, r.call);
        assert!(r.handler.starts_with(&format!("mx_{}_", r.server)), "{}", r.handler);
    }
}

#[test]
fn kernel_calls_carry_the_window_codes() {
    let a = analysis();
    let r = row(&a, "pm", "kill");
    let kill = r.send_sites.iter().find(|s| s.to == "kernel" && s.call == "kernel_kill").expect("kill asks the kernel");
    let sigsend = r.send_sites.iter().find(|s| s.call == "kernel_sig_send").expect("kill posts signal frames");
    let sigsend_code = os::task::KERNEL_CALL_BASE + kernel_sim::KernelCall::SigSend as u32;
    assert_eq!((sigsend.m_type as u32, sigsend.class), (sigsend_code, RecoveryClass::G));
    let code = os::task::KERNEL_CALL_BASE + kernel_sim::KernelCall::Kill as u32;
    assert_eq!(kill.m_type as u32, code);
    assert_eq!(kill.call, "kernel_kill");
    assert_eq!(kill.class, RecoveryClass::G);
}

#[test]
fn the_paper_targets_are_met() {
    let s = analysis().statistics();
    assert!(s.fusing.ipc_contexts > 0 && s.send.contexts > 0);
    assert!(
        s.targets.exact_met,
        "fused to exact destinations: {:.1}%: {:?}",
        s.fusing.exact_percent, s.fusing.no_handler_sites
    );
    assert!(
        s.targets.m_type_met,
        "message types resolved: {:.1}%: {:?}",
        s.send.m_types_resolved_percent, s.send.unresolved
    );
    let loops: Vec<&str> = s.receive.loops.iter().map(|l| l.function.as_str()).collect();
    assert!(loops.contains(&"mx_task_run"), "{loops:?}");
}

#[test]
fn outputs_are_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let again = analysis::analyze_workspace(root).expect("analyses");
    let first = &analysis();
    assert_eq!(analysis::table_json(&again.table), analysis::table_json(&first.table));
    assert_eq!(again.table.to_postcard(), first.table.to_postcard());
    assert_eq!(analysis::report::stats_text(&again.statistics()), analysis::report::stats_text(&first.statistics()));
    for i in 0..first.entries.len() {
        assert_eq!(analysis::report::entry_dot(&again, i), analysis::report::entry_dot(first, i));
    }
}

#[test]
fn the_fork_graph_has_a_cluster_per_component_and_fused_edges() {
    let a = &analysis();
    let fork = a.entries.iter().position(|e| e.server == "pm" && e.call == "fork").expect("fork");
    let dot = analysis::report::entry_dot(a, fork);
    for cluster in ["cluster_pm", "cluster_vm", "cluster_vfs"] {
        assert!(dot.contains(cluster), "{cluster} missing:\n{dot}");
    }
    assert!(dot.contains("\"pm:mx_pm_do_fork\" -> \"vm:mx_vm_do_fork\""), "{dot}");
    assert!(dot.contains("label=\"VM_FORK\""), "{dot}");
}

#[test]
fn the_printed_table_keeps_every_cell_in_its_column() {
    let a = analysis();
    let text = analysis::report::table_text(&a.table);
    let header = text.lines().find(|l| l.starts_with("system call")).expect("a header line");
    // Where each column starts: its header's first letter (the counts are right-aligned under
    // headers at least as wide, so a column's start is a space or a cell's start in every line).
    let starts: Vec<usize> = ["entry point", "module", "depends on", "request-local", "class", "sends"]
        .iter()
        .map(|h| header.find(h).unwrap_or_else(|| panic!("no column {h} in {header:?}")))
        .collect();
    let mut checked = 0;
    for line in text.lines().skip_while(|l| !l.starts_with('[')) {
        if line.is_empty() || line.starts_with('[') || line == header {
            continue;
        }
        for &start in &starts {
            // The character before a column's start is the gap between columns, never a cell's text.
            let gap = line.as_bytes().get(start - 1).copied().unwrap_or(b' ');
            assert_eq!(gap, b' ', "a cell runs into the column at {start}:\n{header}\n{line}");
        }
        checked += 1;
    }
    assert!(checked > a.table.rows.len(), "every row and its components were checked ({checked})");
}
