//! The router model on disk (a `learn` artifact) as the server and `route evaluate` use it.

use infergate_learn::{Artifact, Classifier, LearnerKind, Task};
use infergate_place::evaluate::PlatformClassifier;
use infergate_place::router::RouterModel;
use std::path::Path;

/// What the seed's `model_info.model_type` says for each learner.
pub fn model_type(kind: LearnerKind) -> &'static str {
    match kind {
        LearnerKind::Gbt => "LightGBM gradient-boosted trees",
        LearnerKind::Forest => "Random forest",
        LearnerKind::Logistic => "Logistic regression",
        LearnerKind::Linear => "Linear regression",
    }
}

/// A trained classifier with its feature names, for the `classifier` strategy.
pub struct LoadedClassifier {
    features: Vec<String>,
    model: Box<dyn Classifier>,
    /// Feature importance, by name, largest first.
    pub importance: Vec<(String, f64)>,
}

impl PlatformClassifier for LoadedClassifier {
    fn features(&self) -> &[String] {
        &self.features
    }

    fn lambda_probability(&self, features: &[f64]) -> f64 {
        self.model.predict_proba(features).unwrap_or(0.5)
    }
}

/// Loads a classification artifact; the error says what to do.
pub fn load_classifier(path: &Path) -> Result<(LoadedClassifier, infergate_learn::ArtifactMeta), String> {
    let artifact = Artifact::load(path).map_err(|e| e.to_string())?;
    if artifact.meta.task != Task::Classification {
        return Err(format!("{} is a {} model, not a router classifier", path.display(), artifact.meta.task));
    }
    let meta = artifact.meta.clone();
    let model = artifact.into_classifier().map_err(|e| e.to_string())?;
    let mut importance: Vec<(String, f64)> = meta.features.iter().cloned().zip(model.feature_importance()).collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok((LoadedClassifier { features: meta.features.clone(), model, importance }, meta))
}

/// Loads the router model for `/predict`.
pub fn load_router(path: &Path) -> Result<RouterModel, String> {
    let (c, meta) = load_classifier(path)?;
    Ok(RouterModel {
        features: meta.features.clone(),
        model_type: model_type(meta.learner).to_string(),
        test_accuracy: meta.metrics["test"]["accuracy"].as_f64(),
        training_date: meta.trained_at.clone(),
        predict: Box::new(move |row| c.lambda_probability(row)),
    })
}
