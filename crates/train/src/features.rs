//! Running an image model over many files: each image decoded and preprocessed exactly as
//! the gateway does it, in small batches, on every core.

use crate::TrainError;
use infergate_core::PreprocessSpec;
use infergate_runtime::{decode_image, preprocess, Backend, DecodeLimits, Engine};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// Images per inference call.
const BATCH: usize = 8;

/// A loaded image model and the preprocessing its inputs need.
pub struct ImageModel {
    backend: Arc<dyn Backend>,
    preprocess: PreprocessSpec,
}

impl ImageModel {
    /// Wraps an already loaded model.
    pub fn new(backend: Arc<dyn Backend>, preprocess: PreprocessSpec) -> ImageModel {
        ImageModel { backend, preprocess }
    }

    /// Loads `path` with the engine's backend.
    pub fn load(engine: &Engine, path: &Path, preprocess: PreprocessSpec) -> Result<ImageModel, TrainError> {
        Ok(ImageModel::new(engine.load(path)?, preprocess))
    }

    /// The model's output for each image, in order (one row per image). Batches run on as
    /// many threads as there are cores; `progress` gets the number of images done so far.
    pub fn outputs(&self, images: &[PathBuf], progress: &mut dyn FnMut(usize)) -> Result<Vec<Vec<f32>>, TrainError> {
        let batches: Vec<&[PathBuf]> = images.chunks(BATCH).collect();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = AtomicUsize::new(0);
        let mut results: Vec<Vec<Vec<f32>>> = vec![Vec::new(); batches.len()];
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..cores.min(batches.len()) {
                let (tx, next, batches) = (tx.clone(), &next, &batches);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(i) else { break };
                    if tx.send((i, self.run_batch(batch))).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut done = 0;
            for (i, result) in rx {
                match result {
                    Ok(rows) => {
                        done += rows.len();
                        results[i] = rows;
                        progress(done);
                    }
                    Err(e) => {
                        // Let the workers finish their current batch and take no more.
                        next.store(batches.len(), Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(())
        })?;
        Ok(results.into_iter().flatten().collect())
    }

    fn run_batch(&self, paths: &[PathBuf]) -> Result<Vec<Vec<f32>>, TrainError> {
        let mut input = Vec::new();
        for path in paths {
            let image_err = |message: String| TrainError::Image { path: path.clone(), message };
            let bytes = std::fs::read(path).map_err(|e| image_err(e.to_string()))?;
            let (rgb, _) = decode_image(&bytes, DecodeLimits::default()).map_err(|e| image_err(e.to_string()))?;
            input.extend(preprocess(&rgb, &self.preprocess));
        }
        let run = self.backend.run(&self.preprocess.tensor_shape(paths.len()), &input)?;
        let data = run.output.data;
        if data.is_empty() || data.len() % paths.len() != 0 {
            return Err(TrainError::Invalid(format!(
                "the model returned {} values for a batch of {} images",
                data.len(),
                paths.len()
            )));
        }
        Ok(data.chunks_exact(data.len() / paths.len()).map(<[f32]>::to_vec).collect())
    }
}
