//! The tract backend: pure Rust, no shared library, fp32 standard ops only.

use crate::backend::{check_shape, Backend, BackendError, BackendKind, ModelIo, RunOutput, Tensor};
use std::path::Path;
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;

type Plan = std::sync::Arc<TypedSimplePlan>;

/// A model optimised by tract for one image at a time; larger batches run image by image.
pub struct TractBackend {
    plan: Plan,
    io: ModelIo,
    per_item: Vec<usize>,
}

impl TractBackend {
    /// Loads and optimises `path` for a batch of one.
    pub fn load(path: &Path) -> Result<Self, BackendError> {
        let load_err = |e: &dyn std::fmt::Display| BackendError::Load {
            path: path.display().to_string(),
            message: format!("{e:#}"),
        };
        let onnx = tract_onnx::onnx();
        let mut model = onnx.model_for_path(path).map_err(|e| load_err(&e))?;
        let input_fact = model.input_fact(0).map_err(|e| load_err(&e))?.clone();
        let declared: Vec<i64> = match input_fact.shape.as_concrete_finite() {
            Ok(Some(dims)) => dims.iter().map(|&d| d as i64).collect(),
            _ => input_fact
                .shape
                .dims()
                .map(|d| {
                    tract_onnx::tract_hir::infer::Factoid::concretize(d).and_then(|d| d.to_i64().ok()).unwrap_or(-1)
                })
                .collect(),
        };
        if declared.len() < 2 {
            return Err(load_err(&format!("input rank {} is not supported (need a batch dimension)", declared.len())));
        }
        let mut per_item: Vec<usize> = Vec::with_capacity(declared.len());
        per_item.push(1);
        for &d in &declared[1..] {
            if d <= 0 {
                return Err(load_err(&"only the batch dimension of the input may be dynamic"));
            }
            per_item.push(d as usize);
        }
        model.set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), &per_item)).map_err(|e| load_err(&e))?;
        let input_name = model.node(model.inputs[0].node).name.clone();
        let output_name = model.node(model.outputs[0].node).name.clone();
        let typed = model.into_optimized().map_err(|e| load_err(&e))?;
        let out_fact = typed.output_fact(0).map_err(|e| load_err(&e))?;
        let mut output_shape: Vec<i64> = out_fact.shape.iter().map(|d| d.to_i64().unwrap_or(-1)).collect();
        if let Some(b) = output_shape.first_mut() {
            *b = -1;
        }
        let plan = typed.into_runnable().map_err(|e| load_err(&e))?;
        let mut input_shape = declared;
        input_shape[0] = -1;
        let io = ModelIo { input_name, input_shape, output_name, output_shape };
        Ok(TractBackend { plan, io, per_item })
    }
}

impl Backend for TractBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tract
    }

    fn io(&self) -> &ModelIo {
        &self.io
    }

    fn run(&self, shape: &[usize], data: &[f32]) -> Result<RunOutput, BackendError> {
        check_shape(shape, data.len(), &self.io.input_shape)?;
        let began = Instant::now();
        let item_len: usize = self.per_item.iter().product();
        let mut out_data = Vec::new();
        let mut out_item_shape = Vec::new();
        for item in data.chunks_exact(item_len) {
            let input = tract_onnx::prelude::Tensor::from_shape(&self.per_item, item)
                .map_err(|e| BackendError::Run(e.to_string()))?;
            let result = self.plan.run(tvec!(input.into())).map_err(|e| BackendError::Run(e.to_string()))?;
            let view = result[0].to_plain_array_view::<f32>().map_err(|e| BackendError::Run(e.to_string()))?;
            out_item_shape = view.shape().to_vec();
            out_data.extend(view.iter().copied());
        }
        let mut out_shape = out_item_shape;
        if let Some(b) = out_shape.first_mut() {
            *b = shape[0];
        }
        Ok(RunOutput {
            output: Tensor { shape: out_shape, data: out_data },
            queued: Duration::ZERO,
            compute: began.elapsed(),
        })
    }
}
