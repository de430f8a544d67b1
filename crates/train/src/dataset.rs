//! The training images: `DIR/cat/*` and `DIR/dog/*`, and a seeded, stratified held-out split.

use crate::TrainError;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// Class names in output order: index 0 is `cat`, index 1 is `dog`.
pub const LABELS: [&str; 2] = ["cat", "dog"];

/// File extensions read as images (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// One image and its class index into [`LABELS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledImage {
    /// The image file.
    pub path: PathBuf,
    /// 0 = cat, 1 = dog.
    pub class: usize,
}

/// Lists `dir/cat/` and `dir/dog/` (JPEG, PNG and WebP files, by name). Fails when `dir` or
/// either class folder is missing or holds no images.
pub fn list_images(dir: &Path) -> Result<Vec<LabelledImage>, TrainError> {
    if !dir.is_dir() {
        return Err(TrainError::Data(format!("{} is not a directory (expected {0}/cat and {0}/dog)", dir.display())));
    }
    let mut images = Vec::new();
    for (class, label) in LABELS.iter().enumerate() {
        let folder = dir.join(label);
        let entries = std::fs::read_dir(&folder).map_err(|e| {
            TrainError::Data(format!("cannot read {}: {e} (expected one folder per class)", folder.display()))
        })?;
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| TrainError::Data(format!("cannot read {}: {e}", folder.display())))?.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if is_image && path.is_file() {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(TrainError::Data(format!("no images (.jpg, .jpeg, .png, .webp) in {}", folder.display())));
        }
        paths.sort();
        images.extend(paths.into_iter().map(|path| LabelledImage { path, class }));
    }
    Ok(images)
}

/// Indices into the image list: the ones to train on and the held-out ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training images, ascending.
    pub train: Vec<usize>,
    /// Held-out images, ascending (empty when the fraction is 0).
    pub held_out: Vec<usize>,
}

/// Holds out `fraction` of each class (rounded, at least one image per class when the
/// fraction is positive), chosen by a ChaCha8 generator seeded with `seed`.
pub fn stratified_split(classes: &[usize], fraction: f64, seed: u64) -> Result<Split, TrainError> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(TrainError::Invalid(format!("the held-out fraction must be in [0, 1), got {fraction}")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = Split { train: Vec::new(), held_out: Vec::new() };
    let class_count = classes.iter().max().map_or(0, |&m| m + 1);
    for class in 0..class_count {
        let mut members: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == class).collect();
        let mut held = (fraction * members.len() as f64).round() as usize;
        if fraction > 0.0 {
            if members.len() < 2 {
                return Err(TrainError::Data(format!(
                    "class {class} has {} image(s): a held-out split needs at least 2 per class",
                    members.len()
                )));
            }
            held = held.clamp(1, members.len() - 1);
        }
        members.shuffle(&mut rng);
        split.held_out.extend_from_slice(&members[..held]);
        split.train.extend_from_slice(&members[held..]);
    }
    split.train.sort_unstable();
    split.held_out.sort_unstable();
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let classes: Vec<usize> = (0..100).map(|i| usize::from(i >= 40)).collect();
        let a = stratified_split(&classes, 0.2, 7).unwrap();
        assert_eq!(a.held_out.iter().filter(|&&i| classes[i] == 0).count(), 8);
        assert_eq!(a.held_out.iter().filter(|&&i| classes[i] == 1).count(), 12);
        let mut all: Vec<usize> = a.train.iter().chain(&a.held_out).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&classes, 0.2, 7).unwrap(), a, "same seed, same split");
        assert_ne!(stratified_split(&classes, 0.2, 8).unwrap(), a, "another seed, another split");
        let none = stratified_split(&classes, 0.0, 7).unwrap();
        assert!(none.held_out.is_empty() && none.train.len() == 100);
        let tiny = stratified_split(&[0, 0, 1, 1], 0.01, 1).unwrap();
        assert_eq!(tiny.held_out.len(), 2, "at least one per class");
    }

    #[test]
    fn split_refusals() {
        assert!(stratified_split(&[0, 1], 1.0, 0).is_err());
        assert!(stratified_split(&[0, 1], -0.1, 0).is_err());
        assert!(stratified_split(&[0, 1], f64::NAN, 0).is_err());
        assert!(stratified_split(&[0, 1, 1], 0.5, 0).unwrap_err().to_string().contains("at least 2"));
    }

    #[test]
    fn lists_class_folders_and_explains_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_images(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        std::fs::create_dir(dir.path().join("cat")).unwrap();
        let err = list_images(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no images") && err.contains("cat"), "{err}");
        for name in ["b.JPG", "a.png", "notes.txt"] {
            std::fs::write(dir.path().join("cat").join(name), b"x").unwrap();
        }
        let err = list_images(dir.path()).unwrap_err().to_string();
        assert!(err.contains("dog"), "{err}");
        std::fs::create_dir(dir.path().join("dog")).unwrap();
        std::fs::write(dir.path().join("dog/c.webp"), b"x").unwrap();
        let images = list_images(dir.path()).unwrap();
        let names: Vec<(String, usize)> =
            images.iter().map(|i| (i.path.file_name().unwrap().to_string_lossy().into_owned(), i.class)).collect();
        assert_eq!(names, vec![("a.png".into(), 0), ("b.JPG".into(), 0), ("c.webp".into(), 1)]);
    }
}
