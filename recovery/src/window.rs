//! The recovery window record: every IPC the current request sent out of the server.
//!
//! A [`Window`] is opened by the loop-top checkpoint ([`crate::TrackedState::checkpoint`]) and
//! filled by the server's IPC wrapper while the request is handled. Recovery policies read it after
//! a crash: the window is *closed* once a state-changing request has left the server, because from
//! then on another component may have changed its state for this request and a local rollback no
//! longer restores global consistency.
//!
//! Plain integers keep this crate independent of kernel_sim: destinations are endpoint numbers and
//! message types are the numeric `m_type`.

use serde::{Deserialize, Serialize};

use crate::Epoch;

/// What an outgoing message is, from the point of view of the receiver's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutgoingKind {
    /// A request the receiver handles and may change its state for (sendrec, or an asynsend of a
    /// request type). Sending one closes the window.
    StateChangingRequest {
        /// Whether the receiver's answer has come back.
        answered: bool,
    },
    /// A reply to a request this server received; changes no receiver state.
    Reply,
    /// A notification; changes no receiver state by itself.
    Notification,
}

impl OutgoingKind {
    /// A state-changing request that has not been answered yet.
    pub const REQUEST: OutgoingKind = OutgoingKind::StateChangingRequest { answered: false };

    /// Whether this message may change the receiver's state.
    pub fn is_state_changing(self) -> bool {
        matches!(self, Self::StateChangingRequest { .. })
    }
}

/// One message the current request sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutgoingIpc {
    /// The destination endpoint number.
    pub destination: u32,
    /// The message type (`m_type`).
    pub message_type: u32,
    /// What the message is, and for a request whether it was answered.
    pub kind: OutgoingKind,
}

/// The position of a message in its window, to mark its answer later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpcId(usize);

/// The outgoing IPC of one request, in the order it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    epoch: Epoch,
    outgoing: Vec<OutgoingIpc>,
    /// The position of the first state-changing request: asked after every message, so kept
    /// rather than searched for (a runaway request sends 100,000 messages).
    #[serde(default)]
    closed_at: Option<usize>,
}

impl Window {
    /// An empty window for the recovery window `epoch`.
    pub fn open(epoch: Epoch) -> Self {
        Self { epoch, outgoing: Vec::new(), closed_at: None }
    }

    /// Empties this record for the recovery window `epoch`, keeping its storage: a server reopens
    /// its window at every request, and a fresh one allocated at the request's first message.
    pub fn reopen(&mut self, epoch: Epoch) {
        self.epoch = epoch;
        self.outgoing.clear();
        self.closed_at = None;
    }

    /// The recovery window this record belongs to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Notes a state-changing request sent to `destination`; it starts unanswered.
    pub fn record_request(&mut self, destination: u32, message_type: u32) -> IpcId {
        self.record(destination, message_type, OutgoingKind::REQUEST)
    }

    /// Notes a reply sent to `destination`.
    pub fn record_reply(&mut self, destination: u32, message_type: u32) -> IpcId {
        self.record(destination, message_type, OutgoingKind::Reply)
    }

    /// Notes a notification sent to `destination`.
    pub fn record_notification(&mut self, destination: u32, message_type: u32) -> IpcId {
        self.record(destination, message_type, OutgoingKind::Notification)
    }

    fn record(&mut self, destination: u32, message_type: u32, kind: OutgoingKind) -> IpcId {
        self.outgoing.push(OutgoingIpc { destination, message_type, kind });
        let at = self.outgoing.len() - 1;
        if kind.is_state_changing() && self.closed_at.is_none() {
            self.closed_at = Some(at);
        }
        IpcId(at)
    }

    /// Notes that the answer to request `id` came back.
    ///
    /// Panics if `id` is not an unanswered request of this window: answering a reply, or twice,
    /// means the IPC wrapper lost track of the conversation.
    pub fn mark_answered(&mut self, id: IpcId) {
        let ipc = self.outgoing.get_mut(id.0).expect("IpcId from another window");
        match &mut ipc.kind {
            OutgoingKind::StateChangingRequest { answered } => {
                assert!(!*answered, "request {id:?} answered twice");
                *answered = true;
            }
            other => panic!("only requests are answered, {id:?} is a {other:?}"),
        }
    }

    /// Every message sent, oldest first.
    pub fn outgoing(&self) -> &[OutgoingIpc] {
        &self.outgoing
    }

    /// Whether anything at all left the server (the pessimistic policy's test).
    pub fn has_outgoing(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// The first state-changing request sent, if any: the moment the window closed.
    pub fn first_state_changing_ipc(&self) -> Option<&OutgoingIpc> {
        self.closed_at.map(|at| &self.outgoing[at])
    }

    /// Whether a state-changing request already left the server, so another component may have
    /// changed state for this request.
    pub fn is_closed(&self) -> bool {
        self.first_state_changing_ipc().is_some()
    }

    /// Requests still waiting for their answer (a crash leaves their receivers mid-conversation).
    pub fn unanswered_requests(&self) -> impl Iterator<Item = &OutgoingIpc> {
        self.outgoing.iter().filter(|ipc| ipc.kind == OutgoingKind::StateChangingRequest { answered: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: u32 = 8;
    const VFS: u32 = 1;
    const USER: u32 = 70;
    const VM_FORK: u32 = 0xC01;
    const VFS_FORK: u32 = 0x101;
    const REPLY_OK: u32 = 0;

    #[test]
    fn replies_and_notifications_keep_the_window_open() {
        let mut window = Window::open(Epoch(3));
        assert!(!window.has_outgoing() && !window.is_closed());
        window.record_reply(USER, REPLY_OK);
        window.record_notification(VFS, 0);
        assert!(window.has_outgoing());
        assert!(!window.is_closed());
        assert_eq!(window.first_state_changing_ipc(), None);
        assert_eq!(window.epoch(), Epoch(3));
    }

    #[test]
    fn the_first_request_closes_the_window_and_answers_are_tracked() {
        let mut window = Window::open(Epoch(1));
        window.record_reply(USER, REPLY_OK);
        let to_vm = window.record_request(VM, VM_FORK);
        window.record_request(VFS, VFS_FORK);
        assert!(window.is_closed());
        let first = window.first_state_changing_ipc().unwrap();
        assert_eq!((first.destination, first.message_type), (VM, VM_FORK));
        assert_eq!(window.unanswered_requests().count(), 2);
        window.mark_answered(to_vm);
        let waiting: Vec<u32> = window.unanswered_requests().map(|ipc| ipc.destination).collect();
        assert_eq!(waiting, vec![VFS]);
        assert_eq!(window.outgoing()[1].kind, OutgoingKind::StateChangingRequest { answered: true });
    }

    #[test]
    fn a_reopened_window_is_a_fresh_one_of_its_new_epoch() {
        let mut window = Window::open(Epoch(1));
        window.record_request(VM, VM_FORK);
        window.reopen(Epoch(2));
        assert_eq!(window, Window::open(Epoch(2)));
        assert!(!window.is_closed() && !window.has_outgoing());
    }

    #[test]
    #[should_panic(expected = "only requests are answered")]
    fn answering_a_reply_is_a_bug() {
        let mut window = Window::open(Epoch(1));
        let reply = window.record_reply(USER, REPLY_OK);
        window.mark_answered(reply);
    }

    #[test]
    fn window_round_trips_through_json() {
        let mut window = Window::open(Epoch(9));
        window.record_request(VM, VM_FORK);
        let json = serde_json::to_string(&window).unwrap();
        assert!(json.contains("state-changing-request"));
        assert_eq!(serde_json::from_str::<Window>(&json).unwrap(), window);
    }
}
