//! From raw logits to an answer: softmax, top-k and the cat/dog grouping.

use crate::model::Task;
use std::ops::RangeInclusive;

/// ImageNet classes counted as `cat` (281 tabby … 285 Egyptian cat).
pub const CAT_CLASSES: RangeInclusive<usize> = 281..=285;
/// ImageNet classes counted as `dog` (151 Chihuahua … 268 Mexican hairless).
pub const DOG_CLASSES: RangeInclusive<usize> = 151..=268;
/// Below this combined cat + dog probability the image is probably neither.
pub const IN_DOMAIN_THRESHOLD: f32 = 0.2;

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = out.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        out.iter_mut().for_each(|p| *p /= sum);
    }
    out
}

/// Indices of the `k` largest scores, largest first (ties keep the lower index first).
pub fn top_k(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    let k = k.min(scores.len());
    let cmp = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if k < idx.len() && k > 0 {
        idx.select_nth_unstable_by(k - 1, cmp);
        idx.truncate(k);
    }
    idx.sort_by(cmp);
    idx.truncate(k);
    idx
}

/// The result of post-processing one image's logits.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// `cat`/`dog` for the cat-dog task, else the top-1 class label.
    pub label: String,
    /// Confidence of `label` (see [`classify_logits`]).
    pub confidence: f32,
    /// Summed probabilities of the cat and dog groups (cat-dog task only).
    pub group_scores: Option<(f32, f32)>,
    /// Whether the image looks like it belongs to the task's domain.
    pub in_domain: bool,
    /// Top-k `(class index, probability)` pairs.
    pub top_k: Vec<(usize, f32)>,
}

/// Turns one image's logits into an answer.
///
/// For [`Task::CatDog`] with an ImageNet model, `label` is the larger of the cat and dog
/// groups (sums of the softmax), `confidence` is that group's share of cat + dog, and
/// `in_domain` is whether cat + dog ≥ 0.2. For [`Task::CatDog`] with a two-class model whose
/// classes are labelled `cat` and `dog` (a trained head), the two softmax probabilities are
/// the group scores, `label` is the likelier class, `confidence` its probability, and
/// `in_domain` is always true (such a model has no notion of "neither"). For
/// [`Task::Imagenet`] the label is the top-1 class and the confidence its probability.
/// `label_of` names a class index.
pub fn classify_logits(logits: &[f32], task: Task, k: usize, label_of: impl Fn(usize) -> String) -> Classification {
    let probs = softmax(logits);
    let top: Vec<(usize, f32)> = top_k(&probs, k.max(1)).into_iter().map(|i| (i, probs[i])).collect();
    let sum = |r: RangeInclusive<usize>| probs.get(r).map(|s| s.iter().sum::<f32>()).unwrap_or(0.0);
    match task {
        Task::CatDog => {
            if let Some((cat_index, dog_index)) = cat_dog_head(probs.len(), &label_of) {
                let (cat, dog) = (probs[cat_index], probs[dog_index]);
                let (label, confidence) = if cat >= dog { ("cat", cat) } else { ("dog", dog) };
                return Classification {
                    label: label.to_string(),
                    confidence,
                    group_scores: Some((cat, dog)),
                    in_domain: true,
                    top_k: top.into_iter().take(k).collect(),
                };
            }
            let (cat, dog) = (sum(CAT_CLASSES), sum(DOG_CLASSES));
            let (label, group) = if cat >= dog { ("cat", cat) } else { ("dog", dog) };
            let both = cat + dog;
            Classification {
                label: label.to_string(),
                confidence: if both > 0.0 { group / both } else { 0.0 },
                group_scores: Some((cat, dog)),
                in_domain: both >= IN_DOMAIN_THRESHOLD,
                top_k: top.into_iter().take(k).collect(),
            }
        }
        Task::Imagenet => {
            let (best, p) = top[0];
            Classification {
                label: label_of(best),
                confidence: p,
                group_scores: None,
                in_domain: true,
                top_k: top.into_iter().take(k).collect(),
            }
        }
    }
}

/// The `(cat, dog)` class indices of a two-class model labelled `cat` and `dog` (in either
/// order, any case), or `None` for any other model.
fn cat_dog_head(classes: usize, label_of: impl Fn(usize) -> String) -> Option<(usize, usize)> {
    if classes != 2 {
        return None;
    }
    match (label_of(0).to_ascii_lowercase().as_str(), label_of(1).to_ascii_lowercase().as_str()) {
        ("cat", "dog") => Some((0, 1)),
        ("dog", "cat") => Some((1, 0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_is_stable() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        assert_eq!(top_k(&[0.1, 0.5, 0.5, 0.2], 3), vec![1, 2, 3]);
        assert_eq!(top_k(&[0.1, 0.2], 5), vec![1, 0]);
        assert!(top_k(&[0.1], 0).is_empty());
    }

    #[test]
    fn cat_dog_grouping_by_hand() {
        // 1000 classes; put mass on a dog class and two cat classes.
        let mut logits = vec![0.0f32; 1000];
        logits[258] = 3.0; // Samoyed (dog)
        logits[281] = 2.0; // tabby (cat)
        logits[285] = 2.0; // Egyptian cat
        let c = classify_logits(&logits, Task::CatDog, 3, |i| i.to_string());
        let p = softmax(&logits);
        let cat = p[281] + p[282] + p[283] + p[284] + p[285];
        let dog: f32 = p[151..=268].iter().sum();
        let (gc, gd) = c.group_scores.unwrap();
        assert!((gc - cat).abs() < 1e-6 && (gd - dog).abs() < 1e-6);
        assert_eq!(c.label, if cat >= dog { "cat" } else { "dog" });
        assert!((c.confidence - cat.max(dog) / (cat + dog)).abs() < 1e-6);
        assert_eq!(c.in_domain, cat + dog >= 0.2);
        assert_eq!(c.top_k[0].0, 258);
        assert_eq!(c.top_k.len(), 3);
    }

    #[test]
    fn out_of_domain_when_neither() {
        let mut logits = vec![0.0f32; 1000];
        logits[500] = 20.0;
        let c = classify_logits(&logits, Task::CatDog, 1, |i| i.to_string());
        assert!(!c.in_domain);
        let c = classify_logits(&logits, Task::Imagenet, 1, |i| format!("class{i}"));
        assert_eq!(c.label, "class500");
        assert!(c.confidence > 0.99);
    }

    fn two_labels(a: &'static str, b: &'static str) -> impl Fn(usize) -> String {
        move |i| [a, b][i].to_string()
    }

    #[test]
    fn two_class_cat_dog_head_answers_directly() {
        let logits = [-1.0f32, 1.5];
        let p = softmax(&logits);
        let c = classify_logits(&logits, Task::CatDog, 5, two_labels("cat", "dog"));
        assert_eq!(c.label, "dog");
        assert!((c.confidence - p[1]).abs() < 1e-6);
        assert_eq!(c.group_scores, Some((p[0], p[1])));
        assert!(c.in_domain);
        assert_eq!(c.top_k, vec![(1, p[1]), (0, p[0])], "top_k is capped at the two classes");
        let c = classify_logits(&[2.0, -2.0], Task::CatDog, 1, two_labels("cat", "dog"));
        assert_eq!((c.label.as_str(), c.top_k.len()), ("cat", 1));
        assert!(c.confidence > 0.98);
    }

    #[test]
    fn two_class_head_follows_its_labels_not_the_index_order() {
        let logits = [3.0f32, 0.0];
        let p = softmax(&logits);
        let c = classify_logits(&logits, Task::CatDog, 2, two_labels("Dog", "Cat"));
        assert_eq!(c.label, "dog");
        assert_eq!(c.group_scores, Some((p[1], p[0])));
        assert!((c.confidence - p[0]).abs() < 1e-6);
    }

    #[test]
    fn two_classes_not_labelled_cat_and_dog_keep_the_imagenet_grouping() {
        let c = classify_logits(&[3.0, 0.0], Task::CatDog, 2, |i| i.to_string());
        assert_eq!(c.group_scores, Some((0.0, 0.0)));
        assert!(!c.in_domain);
        let c = classify_logits(&[3.0, 0.0], Task::Imagenet, 1, two_labels("cat", "dog"));
        assert_eq!((c.label.as_str(), c.group_scores), ("cat", None), "imagenet task: plain top-1");
    }
}
