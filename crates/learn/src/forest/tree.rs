//! One CART tree on pre-binned features: split search by histograms over at most 256 bins per
//! feature, impurity = sum of squared deviations (variance), which for 0/1 labels is exactly
//! half the Gini impurity, so one criterion serves classification and regression.

use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Candidate thresholds per feature and every training row's bin for each feature.
pub(crate) struct Binned {
    /// `edges[f]`: ascending thresholds; a value `v` is in bin `b` when `v <= edges[f][b]` and not
    /// in a lower bin (values above every edge are in the last bin).
    pub edges: Vec<Vec<f64>>,
    /// `bins[f][i]`: the bin of row `i`'s feature `f`.
    pub bins: Vec<Vec<u8>>,
}

impl Binned {
    /// Bins a row-major matrix of `p` columns with at most `max_bins` (2..=256) bins per column:
    /// every distinct value when there are few, otherwise quantiles.
    pub fn new(x: &[f64], p: usize, max_bins: usize) -> Binned {
        let n = x.len() / p;
        let max_bins = max_bins.clamp(2, 256);
        let mut edges = Vec::with_capacity(p);
        let mut bins = Vec::with_capacity(p);
        for f in 0..p {
            let mut col: Vec<f64> = (0..n).map(|i| x[i * p + f]).collect();
            col.sort_by(f64::total_cmp);
            let mut distinct = col.clone();
            distinct.dedup();
            let e: Vec<f64> = if distinct.len() <= max_bins {
                distinct.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect()
            } else {
                let mut e: Vec<f64> = (1..max_bins).map(|q| col[q * n / max_bins]).collect();
                e.dedup();
                let top = distinct[distinct.len() - 1];
                e.retain(|&v| v < top);
                e
            };
            bins.push((0..n).map(|i| e.partition_point(|&t| t < x[i * p + f]) as u8).collect());
            edges.push(e);
        }
        Binned { edges, bins }
    }
}

/// Limits on tree growth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Growth {
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
}

/// A node: a split (`feature < u32::MAX`: go `left` when `x[feature] <= threshold`) or a leaf
/// holding `value` (the mean label of its training rows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Node {
    pub feature: u32,
    pub threshold: f64,
    pub left: u32,
    pub right: u32,
    pub value: f64,
}

const LEAF: u32 = u32::MAX;

/// A fitted tree; nodes in creation order, so children always come after their parent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

/// Trees walked together in [`Flat::mean`].
const LANES: usize = 8;

/// Every tree of a forest in one array, children as indices into it, so a row's walk through
/// several trees can be interleaved.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Flat {
    nodes: Vec<Node>,
    /// Index of each tree's root; a tree's nodes run up to the next root.
    roots: Vec<u32>,
}

impl Flat {
    /// Appends a tree (its child indices shifted to the shared array).
    pub fn push(&mut self, tree: Tree) {
        let offset = self.nodes.len() as u32;
        self.roots.push(offset);
        self.nodes.extend(tree.nodes.into_iter().map(|mut n| {
            if n.feature != LEAF {
                n.left += offset;
                n.right += offset;
            }
            n
        }));
    }

    /// Number of trees.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// The trees with their own (zero-based) indices, as stored in artifacts.
    pub fn trees(&self) -> impl Iterator<Item = Tree> + '_ {
        self.roots.iter().enumerate().map(|(t, &root)| {
            let end = self.roots.get(t + 1).map_or(self.nodes.len(), |&r| r as usize);
            let nodes = self.nodes[root as usize..end]
                .iter()
                .map(|&n| if n.feature == LEAF { n } else { Node { left: n.left - root, right: n.right - root, ..n } })
                .collect();
            Tree { nodes }
        })
    }

    #[inline(always)]
    fn step(&self, i: u32, row: &[f64]) -> u32 {
        let n = &self.nodes[i as usize];
        if n.feature == LEAF {
            i
        } else if row[n.feature as usize] <= n.threshold {
            n.left
        } else {
            n.right
        }
    }

    /// Mean leaf value over the trees for a row (its length is checked by the caller). Trees
    /// are walked [`LANES`] at a time so their memory accesses overlap.
    #[inline]
    pub fn mean(&self, row: &[f64]) -> f64 {
        let is_leaf = |i: u32| self.nodes[i as usize].feature == LEAF;
        let mut sum = 0.0;
        let mut roots = self.roots.chunks_exact(LANES);
        for lanes in &mut roots {
            let mut at: [u32; LANES] = std::array::from_fn(|k| lanes[k]);
            while !at.iter().all(|&i| is_leaf(i)) {
                for i in &mut at {
                    *i = self.step(*i, row);
                }
            }
            sum += at.iter().map(|&i| self.nodes[i as usize].value).sum::<f64>();
        }
        for &root in roots.remainder() {
            let mut i = root;
            while !is_leaf(i) {
                i = self.step(i, row);
            }
            sum += self.nodes[i as usize].value;
        }
        sum / self.roots.len() as f64
    }
}

impl Tree {
    /// The leaf value for a row (its length is checked by the caller).
    #[cfg(test)]
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut node = &self.nodes[0];
        while node.feature != LEAF {
            let next = if row[node.feature as usize] <= node.threshold { node.left } else { node.right };
            node = &self.nodes[next as usize];
        }
        node.value
    }

    /// Grows a tree on the rows in `sample` (repeats allowed: a bootstrap), adding each split's
    /// impurity decrease to `importance[feature]`.
    pub fn grow(
        data: &Binned,
        y: &[f64],
        mut sample: Vec<u32>,
        growth: Growth,
        rng: &mut ChaCha8Rng,
        importance: &mut [f64],
    ) -> Tree {
        let p = data.edges.len();
        let mut nodes = vec![Node { feature: LEAF, threshold: 0.0, left: 0, right: 0, value: 0.0 }];
        let mut stack = vec![(0usize, 0usize, sample.len(), 0usize)];
        let mut features: Vec<usize> = (0..p).collect();
        let (mut count, mut sum) = (vec![0u32; 256], vec![0f64; 256]);
        while let Some((id, start, end, depth)) = stack.pop() {
            let rows = &mut sample[start..end];
            let n = rows.len();
            let total: f64 = rows.iter().map(|&i| y[i as usize]).sum();
            nodes[id].value = total / n as f64;
            let sse: f64 = rows.iter().map(|&i| (y[i as usize] - nodes[id].value).powi(2)).sum();
            if depth >= growth.max_depth || n < 2 * growth.min_samples_leaf || sse <= 1e-12 {
                continue;
            }
            // Best split among `max_features` features drawn without replacement.
            let mut best: Option<(f64, usize, usize)> = None;
            let parent_score = total * total / n as f64;
            for k in 0..growth.max_features.min(p) {
                let j = rng.random_range(k..p);
                features.swap(k, j);
                let f = features[k];
                let nb = data.edges[f].len() + 1;
                count[..nb].fill(0);
                sum[..nb].fill(0.0);
                let col = &data.bins[f];
                for &i in rows.iter() {
                    let b = col[i as usize] as usize;
                    count[b] += 1;
                    sum[b] += y[i as usize];
                }
                let (mut n_left, mut s_left) = (0usize, 0.0);
                for b in 0..nb - 1 {
                    n_left += count[b] as usize;
                    s_left += sum[b];
                    let n_right = n - n_left;
                    if n_left < growth.min_samples_leaf {
                        continue;
                    }
                    if n_right < growth.min_samples_leaf {
                        break;
                    }
                    let s_right = total - s_left;
                    let gain = s_left * s_left / n_left as f64 + s_right * s_right / n_right as f64 - parent_score;
                    if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                        best = Some((gain, f, b));
                    }
                }
            }
            let Some((gain, f, b)) = best else { continue };
            importance[f] += gain;
            // Partition: rows going left first.
            let col = &data.bins[f];
            let mut mid = 0;
            for r in 0..n {
                if col[rows[r] as usize] as usize <= b {
                    rows.swap(r, mid);
                    mid += 1;
                }
            }
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes[id].feature = f as u32;
            nodes[id].threshold = data.edges[f][b];
            nodes[id].left = left as u32;
            nodes[id].right = right as u32;
            let leaf = Node { feature: LEAF, threshold: 0.0, left: 0, right: 0, value: 0.0 };
            nodes.push(leaf);
            nodes.push(leaf);
            stack.push((right, start + mid, end, depth + 1));
            stack.push((left, start, start + mid, depth + 1));
        }
        Tree { nodes }
    }
}

/// A tree as stored in an artifact: one array per node field; `feature` is -1 for a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TreePayload {
    feature: Vec<i64>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
    value: Vec<f64>,
}

impl From<&Tree> for TreePayload {
    fn from(t: &Tree) -> Self {
        TreePayload {
            feature: t.nodes.iter().map(|n| if n.feature == LEAF { -1 } else { n.feature as i64 }).collect(),
            threshold: t.nodes.iter().map(|n| n.threshold).collect(),
            left: t.nodes.iter().map(|n| n.left).collect(),
            right: t.nodes.iter().map(|n| n.right).collect(),
            value: t.nodes.iter().map(|n| n.value).collect(),
        }
    }
}

impl TreePayload {
    /// Rebuilds the tree, checking that it is well formed (lengths agree, features exist,
    /// children come after their parent and exist): `Err(reason)` otherwise.
    pub fn into_tree(self, n_features: usize) -> Result<Tree, String> {
        let n = self.feature.len();
        if n == 0 || [self.threshold.len(), self.left.len(), self.right.len(), self.value.len()] != [n; 4] {
            return Err("a tree's node arrays are empty or of different lengths".into());
        }
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let node = if self.feature[i] < 0 {
                Node { feature: LEAF, threshold: 0.0, left: 0, right: 0, value: self.value[i] }
            } else {
                let (l, r) = (self.left[i] as usize, self.right[i] as usize);
                if self.feature[i] as usize >= n_features || l <= i || r <= i || l >= n || r >= n {
                    return Err(format!("tree node {i} points outside the tree or the features"));
                }
                Node {
                    feature: self.feature[i] as u32,
                    threshold: self.threshold[i],
                    left: l as u32,
                    right: r as u32,
                    value: self.value[i],
                }
            };
            nodes.push(node);
        }
        Ok(Tree { nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bins_match_thresholds() {
        let x: Vec<f64> = (0..1000).map(|i| ((i * 37) % 1000) as f64).collect();
        let b = Binned::new(&x, 1, 16);
        assert!(b.edges[0].len() <= 15);
        for (i, &v) in x.iter().enumerate() {
            let bin = b.bins[0][i] as usize;
            assert!(bin == b.edges[0].len() || v <= b.edges[0][bin]);
            assert!(bin == 0 || v > b.edges[0][bin - 1]);
        }
        let few = Binned::new(&[1.0, 3.0, 1.0, 3.0], 1, 16);
        assert_eq!(few.edges[0], vec![2.0]);
    }

    #[test]
    fn a_step_is_learnt_exactly() {
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|&v| if v < 30.0 { 0.0 } else { 1.0 }).collect();
        let binned = Binned::new(&x, 1, 256);
        let mut imp = vec![0.0];
        let growth = Growth { max_depth: 4, min_samples_leaf: 1, max_features: 1 };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let t = Tree::grow(&binned, &y, (0..100).collect(), growth, &mut rng, &mut imp);
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[0].threshold, 29.5);
        assert_eq!(t.predict(&[29.0]), 0.0);
        assert_eq!(t.predict(&[31.0]), 1.0);
        // SSE of the root: 100 · 0.3 · 0.7 = 21, children pure.
        assert!((imp[0] - 21.0).abs() < 1e-9);
        let payload = TreePayload::from(&t);
        assert_eq!(payload.clone().into_tree(1).unwrap(), t);
        assert!(payload.into_tree(0).is_err());
        let mut flat = Flat::default();
        for _ in 0..11 {
            flat.push(t.clone());
        }
        assert_eq!(flat.len(), 11);
        assert_eq!(flat.mean(&[29.0]), 0.0);
        assert_eq!(flat.mean(&[31.0]), 1.0);
        assert!(flat.trees().all(|u| u == t));
    }
}
