//! samsara's testbed: what stands outside the machine and looks at it.
//!
//! [`boot`] starts a machine (the kernel, rs and the services of the manifest, the boot image's
//! programs, init running a workload); [`run`] is one run with a fault and a recovery policy and
//! its outcome; [`checker`] the cross-server consistency checker, the oracle of every run;
//! [`fuzz`] runs the fuzzer's plans and judges what they left.

pub mod boot;
pub mod checker;
pub mod fuzz;
pub mod run;
