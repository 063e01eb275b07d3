//! What a campaign runs: its spec, the golden run's site profile, the faults sampled from it, and
//! the runs (each fault under each policy) in one canonical order that shards split.
//!
//! Invariant: the plan is a pure function of the spec and the source: the same spec gives the same
//! faults in the same order on every machine, so shards run anywhere and merge into the unsharded
//! campaign exactly.

use os::fault::{FaultKind, FaultSpec, Persistence, Site, SiteProfile, Trigger};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use recovery::PolicyKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Everything that defines a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSpec {
    /// The workload (`posix`, `unixbench`, `strace:FILE`).
    pub workload: String,
    /// The seed of the golden run, of every run, and of the fault sampling.
    pub seed: u64,
    /// How many faults to sample (ignored when `exhaustive`).
    pub faults: usize,
    /// Every site x kind x execution instead of a sample.
    pub exhaustive: bool,
    /// The policies every fault runs under.
    pub policies: Vec<PolicyKind>,
    /// The fault kinds to inject.
    pub kinds: Vec<FaultKind>,
    /// The servers to inject into.
    pub servers: Vec<String>,
    /// Loop-top invariant checks in every run (on unless `--no-check-invariants`).
    pub check_invariants: bool,
    /// Transient faults, persistent ones, or both (each sampled fault gets one from the seeded
    /// generator; an exhaustive plan takes every fault once as each). Results files older than
    /// persistent faults planned transient ones only.
    #[serde(default = "transient_only")]
    pub persistence: Vec<Persistence>,
    /// The text of the service manifest every run boots, when it is not the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

fn transient_only() -> Vec<Persistence> {
    vec![Persistence::Transient]
}

impl Default for CampaignSpec {
    fn default() -> Self {
        CampaignSpec {
            workload: "posix".into(),
            seed: 1,
            faults: DEFAULT_FAULTS,
            exhaustive: false,
            policies: PolicyKind::ALL.to_vec(),
            kinds: FaultKind::ALL.to_vec(),
            servers: os::fault::FAULTABLE_SERVERS.iter().map(|s| s.to_string()).collect(),
            check_invariants: true,
            persistence: Persistence::ALL.to_vec(),
            manifest: None,
        }
    }
}

/// Faults in the default campaign: 1,000 faults x 6 policies, under a minute on two cores.
pub const DEFAULT_FAULTS: usize = 1000;

/// One run of a campaign: fault number `fault` under `policy`. Results files spell it as
/// `samsara replay` takes it (`f00042-table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId {
    /// The fault's index in the plan.
    pub fault: usize,
    /// The policy.
    pub policy: PolicyKind,
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "f{:05}-{}", self.fault, self.policy)
    }
}

impl std::str::FromStr for RunId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a run id (like f00042-table)");
        let (fault, policy) = s.strip_prefix('f').and_then(|r| r.split_once('-')).ok_or_else(bad)?;
        Ok(RunId { fault: fault.parse().map_err(|_| bad())?, policy: policy.parse().map_err(|_| bad())? })
    }
}

impl Serialize for RunId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The id as written now, or as files before it was text wrote it.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Fields { fault: usize, policy: PolicyKind },
        }
        match Written::deserialize(d)? {
            Written::Text(text) => text.parse().map_err(serde::de::Error::custom),
            Written::Fields { fault, policy } => Ok(RunId { fault, policy }),
        }
    }
}

/// A shard: runs whose canonical index is `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard (I/N with 0 <= I < N, like 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Samples the campaign's faults from the golden run's profile: candidate faults come only from
/// sites that executed, with their hit counts (the EDFI approach).
pub fn sample_faults(spec: &CampaignSpec, profile: &SiteProfile) -> Vec<FaultSpec> {
    let servers: BTreeSet<&str> = spec.servers.iter().map(String::as_str).collect();
    // Every (site, kind) that applies, in the profile's order (sorted by site).
    let pairs: Vec<(&Site, FaultKind, u64)> = profile
        .sites
        .iter()
        .filter(|(site, _)| servers.contains(site.server.as_str()))
        .flat_map(|(site, stats)| {
            spec.kinds.iter().filter(|k| k.applies_to(&stats.kind)).map(move |&k| (site, k, stats.hits))
        })
        .collect();
    let fault = |site: &Site, kind: FaultKind, nth: u64, bit: u8, persistence: Persistence| FaultSpec {
        kind,
        server: site.server.clone(),
        trigger: Trigger::Site { handler: site.handler.clone(), location: site.location.clone(), nth },
        bit,
        persistence,
    };
    // Each persistence once, in report order (a spec that names one twice plans it once).
    let persistences: Vec<Persistence> =
        Persistence::ALL.into_iter().filter(|p| spec.persistence.contains(p)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ SAMPLING_STREAM);
    if spec.exhaustive {
        return pairs
            .iter()
            .flat_map(|&(site, kind, hits)| (1..=hits).map(move |nth| (site, kind, nth)))
            .flat_map(|(site, kind, nth)| persistences.iter().map(move |&p| (site, kind, nth, p)))
            .map(|(site, kind, nth, p)| fault(site, kind, nth, (rng.next_u32() % BIT_RANGE) as u8, p))
            .collect();
    }
    let total: u64 = pairs.iter().map(|p| p.2).sum::<u64>() * persistences.len() as u64;
    let mut chosen = BTreeSet::new();
    let mut faults = Vec::new();
    if pairs.is_empty() || persistences.is_empty() {
        return faults;
    }
    // Distinct (site, kind, execution, persistence) quadruples; fewer when the workload has fewer
    // to give. A plan of one persistence draws nothing for it (so transient-only plans are the
    // plans of the campaigns before persistent faults).
    let wanted = spec.faults.min(total as usize);
    while faults.len() < wanted {
        let (site, kind, hits) = pairs[(rng.next_u64() % pairs.len() as u64) as usize];
        let nth = 1 + rng.next_u64() % hits;
        let bit = (rng.next_u32() % BIT_RANGE) as u8;
        let persistence = match persistences[..] {
            [only] => only,
            _ => persistences[(rng.next_u64() % persistences.len() as u64) as usize],
        };
        if chosen.insert((site, kind, nth, persistence)) {
            faults.push(fault(site, kind, nth, bit, persistence));
        }
    }
    faults
}

/// Mixed into the seed for sampling, so sampling is a stream apart from the runs'.
const SAMPLING_STREAM: u64 = 0xfa17_5eed_0000_0001;

/// Bits a corrupt or bad-reply fault may flip: the low 64 (a message's leading fields, a word).
const BIT_RANGE: u32 = 64;

/// The runs of `faults` under `policies`, in canonical order, restricted to `shard`.
pub fn runs(faults: usize, policies: &[PolicyKind], shard: Option<Shard>) -> Vec<RunId> {
    (0..faults)
        .flat_map(|fault| policies.iter().map(move |&policy| RunId { fault, policy }))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index))
        .map(|(_, id)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use os::fault::{SiteKind, SiteStats};

    fn profile() -> SiteProfile {
        let mut p = SiteProfile::default();
        let site =
            |server: &str, loc: &str| Site { server: server.into(), handler: "fork".into(), location: loc.into() };
        let write = SiteKind::Write { field: "pm.procs".into(), release: false, corruptible: false };
        p.sites.insert(
            site("pm", "a.rs:1"),
            SiteStats { kind: write.clone(), hits: 3, hits_in_open_window: 3, recoverable: Vec::new() },
        );
        p.sites.insert(
            site("vm", "b.rs:2"),
            SiteStats { kind: write, hits: 1, hits_in_open_window: 0, recoverable: Vec::new() },
        );
        p
    }

    #[test]
    fn sampling_is_seeded_and_distinct() {
        let spec =
            CampaignSpec { faults: 5, kinds: vec![FaultKind::Panic, FaultKind::SkipWrite], ..CampaignSpec::default() };
        let a = sample_faults(&spec, &profile());
        assert_eq!(a, sample_faults(&spec, &profile()), "same seed, same faults");
        assert_eq!(a.len(), 5);
        let distinct: BTreeSet<String> = a.iter().map(|f| f.to_string()).collect();
        assert_eq!(distinct.len(), 5);
        let other = sample_faults(&CampaignSpec { seed: 99, ..spec.clone() }, &profile());
        assert_ne!(a, other, "another seed, another sample");
    }

    #[test]
    fn the_sample_never_exceeds_what_executed_and_respects_filters() {
        let spec = CampaignSpec {
            faults: 100,
            kinds: vec![FaultKind::Panic],
            servers: vec!["pm".into()],
            ..CampaignSpec::default()
        };
        let faults = sample_faults(&spec, &profile());
        assert_eq!(faults.len(), 6, "pm's one site ran 3 times, each transient or persistent");
        assert!(faults.iter().all(|f| f.server == "pm" && f.kind == FaultKind::Panic));
        let all = sample_faults(&CampaignSpec { exhaustive: true, ..spec.clone() }, &profile());
        assert_eq!(all.len(), 6);
        let transient = CampaignSpec { persistence: vec![Persistence::Transient], ..spec };
        assert_eq!(sample_faults(&transient, &profile()).len(), 3);
        assert_eq!(sample_faults(&CampaignSpec { exhaustive: true, ..transient }, &profile()).len(), 3);
    }

    #[test]
    fn the_plan_samples_both_persistences_and_enumerates_both_when_exhaustive() {
        let spec = CampaignSpec { faults: 6, kinds: vec![FaultKind::Panic], ..CampaignSpec::default() };
        let sampled = sample_faults(&spec, &profile());
        assert_eq!(sampled, sample_faults(&spec, &profile()), "the persistence is seeded too");
        for p in Persistence::ALL {
            assert!(sampled.iter().any(|f| f.persistence == p), "{p} faults in {sampled:?}");
        }
        let all = sample_faults(&CampaignSpec { exhaustive: true, ..spec }, &profile());
        assert_eq!(all.len(), 8, "4 executions, each transient and persistent");
        let specs: BTreeSet<String> = all.iter().map(|f| f.to_string()).collect();
        assert_eq!(specs.len(), 8);
        assert!(specs.contains("panic@pm:fork:a.rs:1#3+"), "{specs:?}");
    }

    #[test]
    fn a_header_without_persistences_planned_transient_faults_only() {
        let mut json = serde_json::to_value(CampaignSpec::default()).unwrap();
        json.as_object_mut().unwrap().remove("persistence");
        let old: CampaignSpec = serde_json::from_value(json).unwrap();
        assert_eq!(old.persistence, vec![Persistence::Transient]);
    }

    #[test]
    fn shards_partition_the_runs() {
        let policies = PolicyKind::ALL;
        let all = runs(7, &policies, None);
        assert_eq!(all.len(), 7 * PolicyKind::ALL.len());
        let mut union: Vec<RunId> =
            (0..4).flat_map(|i| runs(7, &policies, Some(Shard { index: i, count: 4 }))).collect();
        union.sort();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(union, sorted);
        assert_eq!("f00042-srs".parse::<RunId>().unwrap(), RunId { fault: 42, policy: PolicyKind::Srs });
        assert_eq!(RunId { fault: 42, policy: PolicyKind::Srs }.to_string(), "f00042-srs");
        assert!("3/3".parse::<Shard>().is_err() && "1/3".parse::<Shard>().is_ok());
    }

    #[test]
    fn results_files_carry_the_run_id_replay_takes_and_old_ones_still_read() {
        let id = RunId { fault: 0, policy: PolicyKind::None };
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"f00000-none\"");
        assert_eq!(serde_json::from_str::<RunId>("\"f00000-none\"").unwrap(), id);
        assert_eq!(serde_json::from_str::<RunId>(r#"{"fault":0,"policy":"none"}"#).unwrap(), id);
        assert!(serde_json::from_str::<RunId>("\"run zero\"").unwrap_err().to_string().contains("not a run id"));
    }
}
