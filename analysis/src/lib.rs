//! Static analysis that fuses the servers' IPC send sites to their receiving handlers and derives the
//! recovery-class table.
//!
//! Not built yet (issue 5); nothing here pretends to work.
