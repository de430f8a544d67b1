//! The `[runtime]` command-line overrides shared by `serve` and `bench-http`.

use crate::config::RuntimeSection;
use clap::Args;

/// How models run (each flag overrides the config file and environment).
#[derive(Args, Debug)]
pub struct RuntimeOverrides {
    /// Inference library: auto (ONNX Runtime when found, else tract), ort or tract.
    #[arg(long)]
    runtime: Option<String>,
    /// ONNX Runtime execution provider: cpu or cuda.
    #[arg(long)]
    execution_provider: Option<String>,
    /// Threads per inference session.
    #[arg(long)]
    intra_threads: Option<usize>,
    /// Inference sessions per model (how many run at once).
    #[arg(long)]
    sessions: Option<usize>,
}

impl RuntimeOverrides {
    /// Writes the flags that were given into `runtime`; the others leave it as it is.
    pub fn apply(&self, runtime: &mut RuntimeSection) {
        if let Some(v) = &self.runtime {
            runtime.runtime = v.clone();
        }
        if let Some(v) = &self.execution_provider {
            runtime.execution_provider = v.clone();
        }
        if let Some(v) = self.intra_threads {
            runtime.intra_threads = v;
        }
        if let Some(v) = self.sessions {
            runtime.sessions = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        runtime: RuntimeOverrides,
    }

    #[test]
    fn only_given_flags_override() {
        let mut section = RuntimeSection::default();
        let before = section.clone();
        Cli::parse_from(["x"]).runtime.apply(&mut section);
        assert_eq!(
            (section.runtime.as_str(), section.execution_provider.as_str(), section.intra_threads, section.sessions),
            (before.runtime.as_str(), before.execution_provider.as_str(), before.intra_threads, before.sessions)
        );
        let cli = Cli::parse_from([
            "x",
            "--runtime",
            "tract",
            "--execution-provider",
            "cuda",
            "--intra-threads",
            "3",
            "--sessions",
            "5",
        ]);
        cli.runtime.apply(&mut section);
        assert_eq!(section.runtime, "tract");
        assert_eq!(section.execution_provider, "cuda");
        assert_eq!((section.intra_threads, section.sessions), (3, 5));
    }
}
