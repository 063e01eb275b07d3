//! Who is who in a run: the processes of its event log, named for people and ordered for charts.
//!
//! The system servers go by their service names (every process in a service slot: rs, pm, vm, vfs,
//! ds, sched, mfs, memdisk as the manifest has them; a restarted server keeps its slot, so it stays one
//! participant across incarnations, even one that comes back under a new endpoint); init by its
//! name; every other user process by its endpoint (`child 17.0`), since a fork gives a child its
//! parent's program name.

use crate::log::{Entry, Kind};
use kernel_sim::Endpoint;
use kernel_sim::manifest::FIRST_USER_SLOT;
use os::proto::INIT;

/// One process of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Its endpoint.
    pub ep: Endpoint,
    /// Its name for people.
    pub name: String,
    /// The program it started with (as the log's spawn event says).
    pub program: String,
    /// Whether it is a system server (in a service slot).
    pub server: bool,
}

/// Every process of a run, in chart order: the servers, init, then the children as they were born.
#[derive(Clone, Debug, Default)]
pub struct Cast {
    /// The processes.
    pub actors: Vec<Actor>,
}

impl Cast {
    /// The processes the log's spawn events name (a server's next incarnation is not a new one):
    /// the servers in slot order, then init and the children as they were born.
    pub fn of(entries: &[Entry]) -> Cast {
        let mut spawned: Vec<(Endpoint, String)> = Vec::new();
        for e in entries {
            if let Kind::Spawn { ep, name } = &e.kind
                && !spawned.iter().any(|(seen, _)| *seen == *ep || (Cast::is_server(*ep) && seen.slot() == ep.slot()))
            {
                spawned.push((*ep, name.clone()));
            }
        }
        let mut servers: Vec<Actor> = spawned
            .iter()
            .filter(|(ep, _)| Cast::is_server(*ep))
            .map(|(ep, program)| Actor { ep: *ep, name: program.clone(), program: program.clone(), server: true })
            .collect();
        servers.sort_by_key(|a| a.ep.slot());
        let mut actors = servers;
        for (ep, program) in spawned.iter().filter(|(ep, _)| !Cast::is_server(*ep)) {
            let name = if *ep == INIT { "init".to_string() } else { format!("child {ep}") };
            actors.push(Actor { ep: *ep, name, program: program.clone(), server: false });
        }
        Cast { actors }
    }

    /// The name of `ep` for people: an actor's name, `kernel`, or the endpoint itself.
    pub fn name(&self, ep: Endpoint) -> String {
        if ep == Endpoint::KERNEL {
            return "kernel".to_string();
        }
        self.actor(ep).map_or_else(|| ep.to_string(), |a| a.name.clone())
    }

    /// The actor of `ep`, if the log spawned it (a server by its slot, whatever its generation).
    pub fn actor(&self, ep: Endpoint) -> Option<&Actor> {
        self.column(ep).map(|i| &self.actors[i])
    }

    /// The chart column of `ep`, if it is an actor.
    pub fn column(&self, ep: Endpoint) -> Option<usize> {
        self.actors.iter().position(|a| a.ep == ep || (a.server && Cast::is_server(ep) && a.ep.slot() == ep.slot()))
    }

    /// The first endpoint of the server named `name` (`pm`, `vfs`...), as the manifest places it.
    pub fn server(name: &str) -> Option<Endpoint> {
        let manifest = testbed::boot::default_manifest();
        manifest.services.iter().find(|s| s.name == name).map(|s| Endpoint::new(s.slot, 0))
    }

    /// Whether `ep` is a system server (in a service slot; the kernel is not).
    pub fn is_server(ep: Endpoint) -> bool {
        !ep.is_special() && ep.slot() > 0 && ep.slot() < FIRST_USER_SLOT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::parse;

    #[test]
    fn servers_first_then_init_then_children_once_each() {
        let log = "\
     0          0us spawn    1.0 rs
     1          0us spawn    16.0 init
     2          1us spawn    2.0 pm
     3          2us spawn    3.0 vm
     4          3us spawn    4.0 vfs
     5          4us spawn    8.0 memdisk
     6          5us spawn    5.0 ds
     7         61us spawn    17.0 init
     8         99us spawn    2.0 pm
     9        120us spawn    8.1 memdisk
";
        let cast = Cast::of(&parse(log));
        let names: Vec<&str> = cast.actors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["rs", "pm", "vm", "vfs", "ds", "memdisk", "init", "child 17.0"]);
        assert_eq!(cast.name(Endpoint::KERNEL), "kernel");
        assert_eq!(cast.name(Endpoint::new(30, 2)), "30.2");
        assert_eq!(cast.column(Endpoint::new(17, 0)), Some(7));
        assert_eq!(
            cast.name(Endpoint::new(8, 1)),
            "memdisk",
            "a driver back under a new endpoint is the same participant"
        );
        assert_eq!(Cast::server("vfs"), Some(os::proto::VFS));
    }
}
