//! A copy of the servers' source that a test edits and analyses: the analysis works on whatever
//! source it is given, so a test can add an entry point written as a developer would and check the
//! row the analysis derives for it.

use analysis::{AnalysisError, Inputs};
use std::path::{Path, PathBuf};

/// The workspace this crate is in.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// `OS_SRC/file`, as the analysis names a file of the copy.
pub fn display(file: &str) -> String {
    format!("{}/{file}", analysis::source::OS_SRC)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the source") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A fresh copy of the servers' source in a directory of its own; removed when dropped.
pub struct Copy {
    dir: PathBuf,
}

impl Copy {
    pub fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("samsara-analysis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&workspace().join(analysis::source::OS_SRC), &dir.join("src"));
        Copy { dir }
    }

    pub fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.src().join(file), text).expect("write a file of the copy");
    }

    pub fn edit(&self, file: &str, edit: impl FnOnce(String) -> String) {
        let path = self.src().join(file);
        let text = std::fs::read_to_string(&path).expect("read a file of the copy");
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the edit of {file} changed it");
        std::fs::write(&path, edited).expect("write a file of the copy");
    }

    pub fn analyze(&self) -> Result<analysis::Analysis, AnalysisError> {
        let mut inputs = Inputs::workspace(&workspace());
        inputs.os_src = self.src();
        analysis::analyze(&inputs)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
