//! The README's deployment recipes are the files in deploy/, to the byte: the Slurm job array is
//! `deploy/slurm/campaign.sbatch` (which `tests/slurm_cluster.rs` submits to a real cluster), the
//! Kubernetes Job is `deploy/k8s/job.yaml`, and the image `deploy/k8s/Dockerfile` builds installs
//! the binary that Job runs. Nothing here needs Slurm or Docker.

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The README holds `file` whole as one fenced block of language `lang`.
fn assert_printed(lang: &str, file: &str) {
    let readme = read("README.md");
    let text = read(file);
    assert!(
        readme.contains(&format!("\n```{lang}\n{text}```\n")),
        "README.md does not print {file} as it is: copy the file's text into its ```{lang} block"
    );
}

#[test]
fn the_readme_prints_the_slurm_script_as_it_is() {
    assert_printed("sh", "deploy/slurm/campaign.sbatch");
}

#[test]
fn the_readme_prints_the_kubernetes_job_as_it_is() {
    assert_printed("yaml", "deploy/k8s/job.yaml");
}

#[test]
fn the_slurm_script_keeps_the_readme_campaign_by_default() {
    let script = read("deploy/slurm/campaign.sbatch");
    for default in ["--array=0-15", "SAMSARA_SHARDS:-16", "SAMSARA_FAULTS:-100000", "SAMSARA_SEED:-7", "--resume"] {
        assert!(script.contains(default), "campaign.sbatch lost `{default}`");
    }
}

#[test]
fn the_image_installs_the_binary_the_job_runs() {
    let job = read("deploy/k8s/job.yaml");
    let dockerfile = read("deploy/k8s/Dockerfile");
    assert!(job.contains("image: your-registry/samsara:latest"), "the Job's image");
    assert!(dockerfile.contains("-t your-registry/samsara:latest"), "the Dockerfile's build line tags the Job's image");
    assert!(job.contains("args: [\"samsara campaign "), "the Job runs `samsara` from PATH");
    assert!(job.contains("--resume"), "a restarted pod resumes");
    assert!(
        dockerfile.contains("RUN cargo build --release --locked --bin samsara"),
        "the build stage builds the release binary"
    );
    assert!(
        dockerfile.contains("COPY --from=build /src/target/release/samsara /usr/local/bin/samsara"),
        "the final stage puts it on PATH"
    );
    // The Job's `sh -c` needs a shell, which a slim Debian has and a scratch or distroless image lacks.
    assert!(job.contains("command: [\"sh\", \"-c\"]") && dockerfile.contains("\nFROM debian:bookworm-slim\n"));
}
