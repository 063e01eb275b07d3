//! The README's Slurm job array on a real Slurm cluster: `deploy/slurm/local-cluster.sh` brings up
//! a single-node cluster on this machine (Debian's slurm-wlm and munge), and
//! `deploy/slurm/campaign.sbatch` — the very file the README prints — is submitted with `sbatch`:
//!
//! - a 4-shard campaign, merged with `samsara merge`, equals the unsharded campaign of the same
//!   seed;
//! - in a larger 4-shard campaign, one array task is requeued mid-way (`scontrol requeue`), goes on
//!   with `--resume`, and the merged file again equals the unsharded one, no run lost or twice.
//!
//! "Equals" is byte for byte: a results file holds nothing that depends on the machine or the
//! thread count, and both are in the plan's order.
//!
//! Skips, saying why, where it cannot run: not root, Slurm or munge absent (`.ci/run` installs
//! them), or the daemons do not come up. The cluster is torn down on every path, panics included
//! (a drop guard), and `up` first stops whatever an earlier, killed run left, so the test can run
//! again on the same machine.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where the cluster keeps its config, key, sockets, state and logs (the script's default: a
/// cluster left by a killed run of any checkout is found and stopped there).
const SLURM_DIR: &str = "/tmp/samsara-slurm";
/// What the test needs on PATH.
const TOOLS: [&str; 9] =
    ["munged", "mungekey", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel"];
/// The README's seed (the script's default).
const SEED: &str = "7";
const SHARDS: usize = 4;
/// The first campaign: small, quick.
const SMALL_FAULTS: usize = 40;
/// The requeued campaign: each shard large enough (210 runs of seven policies, each with the
/// servers' self-checks on) to be caught mid-way.
const REQUEUE_FAULTS: usize = 120;
/// The most one array may take, start to end, before the test gives up.
const ARRAY_TIMEOUT: Duration = Duration::from_secs(150);

/// Prints past the test harness's capture, so the skip and the timings show in every test run.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "slurm_cluster: {text}");
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script(name: &str) -> PathBuf {
    workspace().join("deploy/slurm").join(name)
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .any(|d| d.join(tool).is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A Slurm command pointed at the test's cluster.
fn slurm(tool: &str) -> Command {
    let mut c = Command::new(tool);
    c.env("SLURM_CONF", Path::new(SLURM_DIR).join("slurm.conf")).stdin(Stdio::null());
    c
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `c`, which must succeed; its stdout.
fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(out.status.success(), "{c:?} failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `local-cluster.sh VERB`, stopped after `limit` should it hang (it bounds its own waits, but a
/// Slurm command can block in ways it does not foresee).
fn cluster_script(verb: &str, limit: Duration) -> Command {
    let mut c = Command::new("timeout");
    c.args(["--kill-after=10", &limit.as_secs().to_string(), "bash"])
        .arg(script("local-cluster.sh"))
        .arg(verb)
        .env("SAMSARA_SLURM_DIR", SLURM_DIR)
        .stdin(Stdio::null());
    c
}

/// The machine's one cluster is this test's while it holds this directory: a second run of the
/// test at the same time (another checkout's) waits rather than restart the cluster under it.
const LOCK: &str = "/tmp/samsara-slurm.lock";

/// Takes the lock, waiting up to `patience`; a lock whose holder has died is taken over.
fn lock(patience: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        match std::fs::create_dir(LOCK) {
            Ok(()) => {
                std::fs::write(Path::new(LOCK).join("pid"), std::process::id().to_string())
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(Path::new(LOCK).join("pid")).unwrap_or_default();
                // No pid yet: its holder is between the two calls above, or died there.
                let dead = match holder.trim().parse::<u32>() {
                    Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
                    Err(_) => started.elapsed() > Duration::from_secs(5),
                };
                if dead {
                    let _ = std::fs::remove_dir_all(LOCK);
                    continue;
                }
                if started.elapsed() > patience {
                    return Err(format!("{LOCK} is held by process {} (another run of this test)", holder.trim()));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(format!("{LOCK}: {e}")),
        }
    }
}

/// The running cluster; dropping it tears it down (jobs cancelled, daemons stopped) and lets go
/// of the lock.
struct Cluster;

impl Cluster {
    /// Brings the cluster up, or says why it cannot.
    fn up() -> Result<Cluster, String> {
        lock(Duration::from_secs(300))?;
        // From here on, dropping the guard tears down whatever `up` started, even if it failed.
        let cluster = Cluster;
        let out = cluster_script("up", Duration::from_secs(150))
            .output()
            .map_err(|e| format!("cannot run local-cluster.sh: {e}"))?;
        if out.status.success() { Ok(cluster) } else { Err(text(&out)) }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        match cluster_script("down", Duration::from_secs(90)).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => say(&format!("tearing the cluster down failed: {}", text(&out))),
            Err(e) => say(&format!("cannot run local-cluster.sh down: {e}")),
        }
        let _ = std::fs::remove_dir_all(LOCK);
    }
}

/// A fresh directory the jobs run in (their `results/` and `slurm-*.out` land there).
fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-cluster").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// Submits the README's script as a 4-task array of a campaign of `faults` faults; the job id.
fn submit(dir: &Path, faults: usize) -> String {
    let id = ok(slurm("sbatch")
        .arg("--parsable")
        .arg(format!("--array=0-{}", SHARDS - 1))
        // The script asks for 8 CPUs per task, as on a real cluster; this node has what `nproc` says.
        .arg("--cpus-per-task=1")
        .arg(format!("--chdir={}", dir.display()))
        .arg(script("campaign.sbatch"))
        .env("SAMSARA_BIN", env!("CARGO_BIN_EXE_samsara"))
        .env("SAMSARA_FAULTS", faults.to_string())
        .env("SAMSARA_SEED", SEED)
        .env("SAMSARA_SHARDS", SHARDS.to_string()));
    // --parsable prints `id` or `id;cluster`.
    id.trim().split(';').next().expect("a job id").to_string()
}

/// One array task as `scontrol show job` tells it.
#[derive(Debug)]
struct Task {
    index: usize,
    state: String,
    exit_code: String,
    restarts: u32,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The array's tasks; a task not yet split off its pending array has no line of its own.
fn tasks(job: &str) -> Vec<Task> {
    let out = slurm("scontrol").args(["show", "job", "--oneline", job]).output().expect("run scontrol");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            Some(Task {
                index: field(l, "ArrayTaskId")?.parse().ok()?,
                state: field(l, "JobState")?.to_string(),
                exit_code: field(l, "ExitCode")?.to_string(),
                restarts: field(l, "Restarts")?.parse().ok()?,
            })
        })
        .collect()
}

/// Whether squeue still lists any task of `job`.
fn queued(job: &str) -> bool {
    let out = slurm("squeue").args(["--noheader", "--format=%i", "--jobs", job]).output().expect("run squeue");
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// The output of array task `index`, for failure messages.
fn task_log(dir: &Path, job: &str, index: usize) -> String {
    std::fs::read_to_string(dir.join(format!("slurm-{job}_{index}.out"))).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// Waits until the array has left the queue and checks that every task completed with status 0.
fn wait_for(dir: &Path, job: &str, started: Instant) -> Vec<Task> {
    while queued(job) {
        assert!(started.elapsed() < ARRAY_TIMEOUT, "job {job} still queued after {ARRAY_TIMEOUT:?}: {:?}", tasks(job));
        std::thread::sleep(Duration::from_millis(250));
    }
    let tasks = tasks(job);
    assert_eq!(tasks.len(), SHARDS, "job {job}: one task per shard: {tasks:?}");
    for t in &tasks {
        assert!(
            t.state == "COMPLETED" && t.exit_code == "0:0",
            "job {job} task {}: {} exit {}\n{}",
            t.index,
            t.state,
            t.exit_code,
            task_log(dir, job, t.index)
        );
    }
    tasks
}

fn samsara(dir: &Path, args: &[&str]) -> String {
    ok(Command::new(env!("CARGO_BIN_EXE_samsara")).args(args).current_dir(dir))
}

/// Merges the shards in `dir/results` into `dir/merged.jsonl`; its text.
fn merge(dir: &Path) -> String {
    let shards: Vec<String> = (0..SHARDS).map(|i| format!("results/shard-{i}.jsonl")).collect();
    let mut args = vec!["merge", "merged.jsonl"];
    args.extend(shards.iter().map(String::as_str));
    samsara(dir, &args);
    std::fs::read_to_string(dir.join("merged.jsonl")).expect("the merged file")
}

/// The unsharded campaign of the same seed, on every core (a seed gives the same file whatever
/// the thread count); its text.
fn unsharded(dir: &Path, faults: usize) -> String {
    let faults = faults.to_string();
    samsara(dir, &["campaign", "--faults", &faults, "--seed", SEED, "--out", "unsharded.jsonl"]);
    std::fs::read_to_string(dir.join("unsharded.jsonl")).expect("the unsharded file")
}

/// The merged file equals the unsharded one, and holds every run exactly once.
fn assert_same_campaign(what: &str, merged: &str, unsharded: &str, faults: usize) {
    let runs = faults * recovery::PolicyKind::ALL.len();
    assert_eq!(merged.lines().count(), 1 + runs, "{what}: a header and {runs} runs");
    let distinct: BTreeSet<&str> = merged.lines().collect();
    assert_eq!(distinct.len(), 1 + runs, "{what}: a line appears twice");
    if merged != unsharded {
        let first = merged.lines().zip(unsharded.lines()).position(|(a, b)| a != b);
        panic!("{what}: the merged file differs from the unsharded campaign, first at line {:?}", first.map(|i| i + 1));
    }
}

/// Run lines in a shard file so far (its header excluded).
fn runs_in(file: &Path) -> usize {
    std::fs::read_to_string(file).map(|t| t.lines().count().saturating_sub(1)).unwrap_or(0)
}

#[test]
fn the_readme_job_array_runs_on_slurm_and_a_requeued_task_resumes() {
    let skip = |why: String| say(&format!("SKIPPED: {why} — the Slurm cluster test did not run"));
    if !is_root() {
        return skip("not root (the local cluster's daemons and jobs run as root)".into());
    }
    let missing: Vec<&str> = TOOLS.into_iter().filter(|t| !on_path(t)).collect();
    if !missing.is_empty() {
        return skip(format!("{} absent (apt-get install slurm-wlm munge; .ci/run installs them)", missing.join(", ")));
    }
    let begun = Instant::now();
    let cluster = match Cluster::up() {
        Ok(c) => c,
        Err(why) => return skip(format!("the local Slurm cluster did not come up:\n{why}")),
    };
    say(&format!("cluster up in {:.1} s", begun.elapsed().as_secs_f64()));

    // The README's array, as printed, on a small campaign.
    let dir = workdir("small");
    let started = Instant::now();
    let job = submit(&dir, SMALL_FAULTS);
    wait_for(&dir, &job, started);
    say(&format!("{SHARDS}-task array of {SMALL_FAULTS} faults done in {:.1} s", started.elapsed().as_secs_f64()));
    assert_same_campaign("small campaign", &merge(&dir), &unsharded(&dir, SMALL_FAULTS), SMALL_FAULTS);

    // The same, larger, with task 0 requeued once it has written some runs and before its end.
    let dir = workdir("requeue");
    let shard0 = dir.join("results/shard-0.jsonl");
    let per_shard = REQUEUE_FAULTS * recovery::PolicyKind::ALL.len() / SHARDS;
    let started = Instant::now();
    let job = submit(&dir, REQUEUE_FAULTS);
    let caught = loop {
        let done = runs_in(&shard0);
        if done >= 5 {
            assert!(done < per_shard, "task 0 finished ({done} runs) before it could be requeued");
            ok(slurm("scontrol").args(["requeue", &format!("{job}_0")]));
            break done;
        }
        assert!(started.elapsed() < ARRAY_TIMEOUT, "task 0 wrote no runs in {ARRAY_TIMEOUT:?}: {:?}", tasks(&job));
        std::thread::sleep(Duration::from_millis(20));
    };
    say(&format!("requeued task 0 after {caught} of its {per_shard} runs"));
    let tasks = wait_for(&dir, &job, started);
    say(&format!(
        "{SHARDS}-task array of {REQUEUE_FAULTS} faults, one task requeued, done in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let task0 = tasks.iter().find(|t| t.index == 0).expect("task 0");
    assert_eq!(task0.restarts, 1, "task 0 was requeued once: {task0:?}");
    // The log is the second attempt's: it resumed after what the first had written, and ran the rest.
    let log = task_log(&dir, &job, 0);
    let resumed = log
        .lines()
        .find_map(|l| l.strip_prefix("ran ")?.split_once(" already done")?.0.rsplit(", ").next()?.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("task 0 did not say it resumed:\n{log}"));
    assert!(
        resumed >= caught && resumed < per_shard,
        "task 0 resumed after {resumed} runs, {caught} seen at the requeue:\n{log}"
    );
    let shard = std::fs::read_to_string(&shard0).expect("shard 0");
    let ids: BTreeSet<String> = shard
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a run line")["id"].to_string())
        .collect();
    assert_eq!((shard.lines().count() - 1, ids.len()), (per_shard, per_shard), "shard 0: every run exactly once");
    assert_same_campaign("requeued campaign", &merge(&dir), &unsharded(&dir, REQUEUE_FAULTS), REQUEUE_FAULTS);

    drop(cluster);
    let took = begun.elapsed();
    // Said, not asserted: these machines are shared, and CI's own limit is on the whole run.
    say(&format!("the Slurm test took {:.1} s in all", took.as_secs_f64()));
}
