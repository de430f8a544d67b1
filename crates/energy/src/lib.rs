//! Energy per inference on edge devices: reading measurements of models on devices
//! ([`dataset`]), the structure features a prediction needs ([`features`]), a predictor of
//! energy and latency per device with calibrated 90 % intervals ([`predictor`], built from
//! [`logmodel`]), the physics prior that answers where no model does and that a new device's
//! first measurements calibrate ([`prior`]), and honest evaluation — one architecture family
//! held out at a time ([`evaluate`]), and what answers for a device found in a directory ([`device`]).

pub mod dataset;
pub mod device;
pub mod evaluate;
pub mod features;
pub mod logmodel;
pub mod predictor;
pub mod prior;

pub use dataset::{read_file, read_files, Measurement, ReadReport};
pub use device::{DeviceModel, PriorFile};
pub use features::Features;
pub use predictor::{EnergyPredictor, Mode, Prediction, Thresholds};
pub use prior::DevicePrior;
