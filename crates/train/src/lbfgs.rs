//! Limited-memory BFGS with a backtracking (Armijo) line search, for smooth convex objectives.

use std::collections::VecDeque;

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    /// Most iterations.
    pub max_iterations: usize,
    /// Stop when the largest gradient component is below this.
    pub gradient_tolerance: f64,
    /// Stop when an iteration lowers the objective by less than this (relative).
    pub relative_decrease: f64,
}

/// Where the minimisation ended.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// The parameters.
    pub x: Vec<f64>,
    /// The objective there.
    pub value: f64,
    /// Iterations taken.
    pub iterations: usize,
}

/// Past steps kept for the inverse-Hessian estimate.
const MEMORY: usize = 10;

/// Minimises `f` from `x0`. `f(x, grad)` returns the objective at `x` and writes its gradient
/// into `grad`.
pub fn minimize(mut f: impl FnMut(&[f64], &mut [f64]) -> f64, x0: Vec<f64>, stop: Stopping) -> Minimum {
    let n = x0.len();
    let mut x = x0;
    let mut grad = vec![0.0; n];
    let mut value = f(&x, &mut grad);
    let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(MEMORY);
    let (mut x_new, mut grad_new) = (vec![0.0; n], vec![0.0; n]);
    let mut iterations = 0;
    while iterations < stop.max_iterations && max_abs(&grad) > stop.gradient_tolerance {
        iterations += 1;
        let mut direction = two_loop(&history, &grad);
        let mut slope = dot(&direction, &grad);
        if slope >= 0.0 {
            // Not a descent direction (curvature estimate gone bad): restart from steepest descent.
            history.clear();
            direction = grad.iter().map(|g| -g).collect();
            slope = -dot(&grad, &grad);
        }
        let mut step = 1.0;
        let value_new = loop {
            for i in 0..n {
                x_new[i] = x[i] + step * direction[i];
            }
            let v = f(&x_new, &mut grad_new);
            if v <= value + 1e-4 * step * slope || step < 1e-12 {
                break v;
            }
            step *= 0.5;
        };
        if value_new > value {
            break;
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = grad_new.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        let decrease = value - value_new;
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut grad, &mut grad_new);
        value = value_new;
        if decrease <= stop.relative_decrease * value.abs().max(1.0) {
            break;
        }
    }
    Minimum { x, value, iterations }
}

/// The L-BFGS two-loop recursion: `-H·grad` with `H` estimated from `history`.
fn two_loop(history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>, grad: &[f64]) -> Vec<f64> {
    let mut q = grad.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let alpha = rho * dot(s, &q);
        axpy(-alpha, y, &mut q);
        alphas.push(alpha);
    }
    let gamma = match history.back() {
        Some((s, y, _)) => dot(s, y) / dot(y, y),
        None => 1.0 / max_abs(grad).max(1.0),
    };
    q.iter_mut().for_each(|v| *v *= gamma);
    for ((s, y, rho), alpha) in history.iter().zip(alphas.into_iter().rev()) {
        let beta = rho * dot(y, &q);
        axpy(alpha - beta, s, &mut q);
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

/// The dot product.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOP: Stopping = Stopping { max_iterations: 500, gradient_tolerance: 1e-9, relative_decrease: 0.0 };

    #[test]
    fn finds_the_minimum_of_an_ill_conditioned_quadratic() {
        // f(x) = sum_i c_i (x_i - i)^2 with curvatures spanning four orders of magnitude.
        let c = [1e-2, 1.0, 10.0, 100.0];
        let f = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for i in 0..4 {
                let d = x[i] - i as f64;
                v += c[i] * d * d;
                g[i] = 2.0 * c[i] * d;
            }
            v
        };
        let m = minimize(f, vec![5.0; 4], STOP);
        for (i, x) in m.x.iter().enumerate() {
            assert!((x - i as f64).abs() < 1e-6, "{:?}", m.x);
        }
        assert!(m.iterations < 100, "{}", m.iterations);
    }

    #[test]
    fn minimises_rosenbrock() {
        let f = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
            g[0] = -2.0 * a - 400.0 * x[0] * b;
            g[1] = 200.0 * b;
            a * a + 100.0 * b * b
        };
        let m = minimize(f, vec![-1.2, 1.0], STOP);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{:?} after {}", m.x, m.iterations);
    }
}
