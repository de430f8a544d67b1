//! Every learner on seeded synthetic data: accuracy/R² bars, importance, determinism, errors.

mod common;

use infergate_learn::{
    cross_validate, evaluate_classifier, evaluate_regressor, fit_classifier, fit_regressor, train_test_split, Dataset,
    Error, LearnerKind, Metrics, Params, Task,
};

const CLASSIFIERS: [LearnerKind; 3] = [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Logistic];
const REGRESSORS: [LearnerKind; 3] = [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Linear];

fn split(data: &Dataset, stratify: bool) -> (Dataset, Dataset) {
    let s = train_test_split(data.y(), 0.25, stratify, 11).unwrap();
    (data.subset(&s.train), data.subset(&s.test))
}

fn test_accuracy(kind: LearnerKind, data: &Dataset) -> f64 {
    let (train, test) = split(data, true);
    let model = fit_classifier(kind, &train, &Params::default()).unwrap();
    evaluate_classifier(model.as_ref(), &test).unwrap().accuracy
}

#[test]
fn linearly_separable_set_is_learnt_by_every_classifier() {
    let data = common::separable(2000, 1);
    for kind in CLASSIFIERS {
        let acc = test_accuracy(kind, &data);
        assert!(acc >= 0.95, "{kind}: accuracy {acc}");
    }
}

#[test]
fn xor_defeats_logistic_but_not_trees() {
    let data = common::xor(2000, 2);
    let logistic = test_accuracy(LearnerKind::Logistic, &data);
    assert!((0.35..=0.65).contains(&logistic), "logistic accuracy {logistic} should be near chance");
    for kind in [LearnerKind::Gbt, LearnerKind::Forest] {
        let acc = test_accuracy(kind, &data);
        assert!(acc >= 0.9, "{kind}: accuracy {acc}");
    }
}

#[test]
fn a_noisy_plane_is_fitted_by_every_regressor() {
    let data = common::plane(2000, 3);
    let (train, test) = split(&data, false);
    for kind in REGRESSORS {
        let model = fit_regressor(kind, &train, &Params::default()).unwrap();
        let m = evaluate_regressor(model.as_ref(), &test).unwrap();
        assert!(m.r2 >= 0.95, "{kind}: R² {}", m.r2);
    }
}

#[test]
fn importance_ranks_the_informative_feature_first() {
    let labels = common::one_informative_label(1500, 4);
    for kind in CLASSIFIERS {
        let imp = fit_classifier(kind, &labels, &Params::default()).unwrap().feature_importance();
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{kind}: {imp:?}");
        assert!(imp[0] > imp[1], "{kind}: {imp:?}");
    }
    let values = common::one_informative_value(1500, 5);
    for kind in REGRESSORS {
        let imp = fit_regressor(kind, &values, &Params::default()).unwrap().feature_importance();
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{kind}: {imp:?}");
        assert!(imp[0] > imp[1], "{kind}: {imp:?}");
    }
}

#[test]
fn training_is_deterministic_per_seed() {
    let data = common::xor(600, 6);
    for kind in [LearnerKind::Gbt, LearnerKind::Forest] {
        let predictions = |seed| {
            let params = Params { seed, ..Params::default() };
            let m = fit_classifier(kind, &data, &params).unwrap();
            data.rows().map(|r| m.predict_proba(r).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(predictions(1), predictions(1), "{kind}");
        if kind == LearnerKind::Forest {
            assert_ne!(predictions(1), predictions(2), "{kind}");
        }
    }
}

#[test]
fn rows_of_the_wrong_shape_are_errors() {
    let data = common::separable(200, 7);
    let regression = common::plane(200, 7);
    for kind in CLASSIFIERS {
        let m = fit_classifier(kind, &data, &Params::default()).unwrap();
        assert_eq!(m.n_features(), 3);
        assert!(matches!(m.predict_proba(&[0.1, 0.2]), Err(Error::FeatureCount { expected: 3, got: 2 })));
        assert!(matches!(m.predict_proba(&[0.1, f64::NAN, 0.0]), Err(Error::NonFiniteFeature { index: 1, .. })));
        let p = m.predict_proba(&[0.5, 0.5, 0.0]).unwrap();
        assert!((0.0..=1.0).contains(&p), "{kind}: {p}");
    }
    for kind in REGRESSORS {
        let m = fit_regressor(kind, &regression, &Params::default()).unwrap();
        let e = m.predict(&[0.1, 0.2, 0.3]).unwrap_err();
        assert!(e.to_string().contains("retrain with `infergate route train`"), "{e}");
    }
}

#[test]
fn classifiers_refuse_labels_other_than_0_and_1() {
    let data = common::plane(100, 8);
    for kind in CLASSIFIERS {
        let e = fit_classifier(kind, &data, &Params::default()).unwrap_err();
        assert!(e.to_string().contains("labels must be 0 or 1"), "{kind}: {e}");
    }
    assert!(fit_classifier(LearnerKind::Linear, &common::separable(50, 1), &Params::default()).is_err());
    assert!(fit_regressor(LearnerKind::Logistic, &data, &Params::default()).is_err());
}

#[test]
fn cross_validation_reports_every_fold_and_the_mean() {
    let data = common::separable(600, 9);
    for kind in CLASSIFIERS {
        let cv = cross_validate(Task::Classification, kind, &data, 5, 1, &Params::default()).unwrap();
        assert_eq!(cv.folds.len(), 5);
        let Metrics::Classification(mean) = &cv.mean else { panic!("{kind}: not classification") };
        assert_eq!(mean.n, 600);
        assert!(mean.accuracy >= 0.9 && mean.roc_auc.unwrap() >= 0.95, "{kind}: {mean:?}");
    }
    let values = common::plane(500, 10);
    let cv = cross_validate(Task::Regression, LearnerKind::Linear, &values, 4, 1, &Params::default()).unwrap();
    let Metrics::Regression(mean) = &cv.mean else { panic!("not regression") };
    assert!(mean.r2 >= 0.95, "{mean:?}");
    let e = cross_validate(Task::Regression, LearnerKind::Logistic, &values, 4, 1, &Params::default()).unwrap_err();
    assert!(e.to_string().contains("valid names are gbt, forest, linear"), "{e}");
}
