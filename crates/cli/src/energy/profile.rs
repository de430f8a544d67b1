//! `infergate energy profile MODEL.onnx`: parameters, MACs, FLOPs, size, layers, input size and
//! the kernel mix of a model, from its graph (no inference run).

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// `infergate energy profile …`
#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// The ONNX model.
    model: PathBuf,
    /// The input's shape where the model leaves it open (e.g. 1,3,224,224; a symbolic batch is 1).
    #[arg(long, value_delimiter = ',')]
    input_shape: Option<Vec<u64>>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ProfileArgs) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
    let mut p = infergate_profile::profile_bytes(&bytes, args.input_shape.as_deref())
        .with_context(|| format!("{}", args.model.display()))?;
    p.size_mb = bytes.len() as f64 / 1e6;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    let shares: Vec<String> = p.kernel_mac_share.iter().map(|(k, s)| format!("{k} {:.1} %", s * 100.0)).collect();
    println!("model        {}", args.model.display());
    println!("parameters   {} ({:.2} M)", p.params, p.params as f64 / 1e6);
    println!("MACs         {} ({:.1} M)", p.macs, p.macs as f64 / 1e6);
    println!("FLOPs        {} ({:.1} M)", p.flops, p.flops as f64 / 1e6);
    println!("size         {:.2} MB", p.size_mb);
    println!("layers       {} (convolutions and fully connected)", p.layers);
    println!("input        {:?} (size {})", p.input_shape, p.input_size);
    println!("depthwise    {}", p.depthwise);
    println!("kernels      {} (MAC-weighted mean {:.2}, largest {})", shares.join(", "), p.kernel_mean, p.kernel_max);
    println!(
        "conv layers  {} (a depthwise-separable pair counted once), mean kernel {:.2}",
        p.conv_layers, p.layer_kernel_mean
    );
    println!("filters      {} at most", p.filters_max);
    Ok(())
}
