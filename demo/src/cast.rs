//! Who is who in a run: the processes of its event log, named for people and ordered for charts.
//!
//! The system servers go by their service names (rs, pm, vm, vfs: a restarted server keeps its
//! endpoint, so it stays one participant across incarnations); init by its name; every other user
//! process by its endpoint (`child 17.0`), since a fork gives a child its parent's program name.

use crate::log::{Entry, Kind};
use kernel_sim::Endpoint;
use servers::proto::{DS, INIT, MFS_BOOT, PM, RS, VFS, VM};

/// One process of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Its endpoint.
    pub ep: Endpoint,
    /// Its name for people.
    pub name: String,
    /// The program it started with (as the log's spawn event says).
    pub program: String,
    /// Whether it is a system server (rs, pm, vm, vfs).
    pub server: bool,
}

/// Every process of a run, in chart order: the servers, init, then the children as they were born.
#[derive(Clone, Debug, Default)]
pub struct Cast {
    /// The processes.
    pub actors: Vec<Actor>,
}

/// The servers, in the order charts show them.
const SERVERS: [(Endpoint, &str); 6] =
    [(RS, "rs"), (PM, "pm"), (VM, "vm"), (VFS, "vfs"), (MFS_BOOT, "mfs"), (DS, "ds")];

impl Cast {
    /// The processes the log's spawn events name (a server's next incarnation is not a new one).
    pub fn of(entries: &[Entry]) -> Cast {
        let mut spawned: Vec<(Endpoint, String)> = Vec::new();
        for e in entries {
            if let Kind::Spawn { ep, name } = &e.kind
                && !spawned.iter().any(|(seen, _)| seen == ep)
            {
                spawned.push((*ep, name.clone()));
            }
        }
        let mut actors: Vec<Actor> = SERVERS
            .iter()
            .filter_map(|&(ep, name)| {
                let (_, program) = spawned.iter().find(|(s, _)| *s == ep)?;
                Some(Actor { ep, name: name.to_string(), program: program.clone(), server: true })
            })
            .collect();
        for (ep, program) in &spawned {
            if SERVERS.iter().any(|(s, _)| s == ep) {
                continue;
            }
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

    /// The actor of `ep`, if the log spawned it.
    pub fn actor(&self, ep: Endpoint) -> Option<&Actor> {
        self.actors.iter().find(|a| a.ep == ep)
    }

    /// The chart column of `ep`, if it is an actor.
    pub fn column(&self, ep: Endpoint) -> Option<usize> {
        self.actors.iter().position(|a| a.ep == ep)
    }

    /// The endpoint of the server named `name` (`pm`, `vfs`...).
    pub fn server(name: &str) -> Option<Endpoint> {
        SERVERS.iter().find(|(_, n)| *n == name).map(|(ep, _)| *ep)
    }

    /// Whether `ep` is a system server.
    pub fn is_server(ep: Endpoint) -> bool {
        SERVERS.iter().any(|(s, _)| *s == ep)
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
     5         61us spawn    17.0 init
     6         99us spawn    2.0 pm
";
        let cast = Cast::of(&parse(log));
        let names: Vec<&str> = cast.actors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["rs", "pm", "vm", "vfs", "init", "child 17.0"]);
        assert_eq!(cast.name(Endpoint::KERNEL), "kernel");
        assert_eq!(cast.name(Endpoint::new(30, 2)), "30.2");
        assert_eq!(cast.column(Endpoint::new(17, 0)), Some(5));
        assert_eq!(Cast::server("vfs"), Some(VFS));
    }
}
