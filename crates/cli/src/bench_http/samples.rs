//! The request bodies: image files loaded once, each request's body built from them.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// One image file, loaded once.
pub(super) struct Sample {
    pub(super) bytes: Bytes,
    pub(super) mime: &'static str,
}

/// The body of request `index`: image `index mod n`, plus the unique tag if asked.
///
/// The tag is plain ASCII (never `0xFF`), so it cannot look like a JPEG marker.
pub(super) fn body_for(samples: &[Sample], index: u64, unique: bool, warmup: bool) -> (Bytes, &'static str) {
    let s = &samples[(index % samples.len() as u64) as usize];
    // JSON bodies (e.g. for /predict) stay as they are: a tag would make them invalid.
    if !unique || s.mime == "application/json" {
        return (s.bytes.clone(), s.mime);
    }
    (tagged(&s.bytes, if warmup { "warmup" } else { "request" }, index), s.mime)
}

/// `bytes` with a unique ASCII tag appended (`#infergate-bench KIND INDEX`): image decoders
/// stop at the end of the image, so the picture is the same but no two bodies are equal and a
/// server's answer cache never answers.
pub(crate) fn tagged(bytes: &[u8], kind: &str, index: u64) -> Bytes {
    let tag = format!("\n#infergate-bench {kind} {index:012}\n");
    let mut body = Vec::with_capacity(bytes.len() + tag.len());
    body.extend_from_slice(bytes);
    body.extend_from_slice(tag.as_bytes());
    Bytes::from(body)
}

fn mime_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "webp" => Some("image/webp"),
        "json" => Some("application/json"),
        _ => None,
    }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))? {
            collect_files(&entry?.path(), out)?;
        }
    } else if mime_of(path).is_some() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Loads the image files under `paths`, sorted by path, each once.
pub(super) fn load_samples(paths: &[PathBuf]) -> Result<Vec<Sample>> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        bail!("no .jpg, .jpeg, .png, .webp or .json files under the given --images");
    }
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            Ok(Sample { bytes: Bytes::from(bytes), mime: mime_of(f).unwrap_or("application/octet-stream") })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use infergate_runtime::{decode_image, DecodeLimits};

    #[test]
    fn unique_bodies_differ_and_keep_the_image() {
        let jpeg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0xD9];
        let samples = vec![Sample { bytes: Bytes::from_static(jpeg), mime: "image/jpeg" }];
        let (a, _) = body_for(&samples, 3, true, false);
        let (b, _) = body_for(&samples, 4, true, false);
        let (w, _) = body_for(&samples, 3, true, true);
        assert!(a.starts_with(jpeg) && b.starts_with(jpeg));
        assert_ne!(a, b);
        assert_ne!(a, w, "warm-up bodies never repeat measured ones");
        assert!(!a[jpeg.len()..].contains(&0xFF), "the tag holds no marker byte");
        assert_eq!(body_for(&samples, 3, false, false).0.as_ref(), jpeg);
    }

    #[test]
    fn trailing_tag_still_decodes() {
        // A real photo from the shared benchmark images, when this checkout has them.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/catsdogs/test/cat");
        let mut files = Vec::new();
        if collect_files(&dir, &mut files).is_err() || files.is_empty() {
            eprintln!("skipped: no images under {}", dir.display());
            return;
        }
        files.sort();
        let samples = load_samples(&files[..1]).unwrap();
        let plain = decode_image(&samples[0].bytes, DecodeLimits::default()).unwrap().0;
        let (body, _) = body_for(&samples, 42, true, false);
        let (tagged, _) = decode_image(&body, DecodeLimits::default()).unwrap();
        assert_eq!(plain.dimensions(), tagged.dimensions());
        assert_eq!(plain.as_raw(), tagged.as_raw(), "the tag changes no pixel");
    }
}
