//! The aggregation tree of a split build: chunk proofs are folded in
//! groups, the groups' proofs in groups again, up to one root, so no job
//! holds more than a fan-in's worth of proofs whatever the chunk count.
//!
//! Each node is an `aggregate` of its children (chunk proofs or the proofs
//! of nodes one level down) and links the cuts between its children
//! (`split::wiring_of`); it exposes the points of the cuts at its own edges
//! as limbs among its public inputs, so that its parent links a cut
//! between a node and its neighbour.
//! Every node but the root proves with the Poseidon transcript for its
//! parent; the root proves for the EVM and keeps its keys at the build's
//! root, so a tree build verifies exactly as a flat one.
//!
//! Fan-in. An aggregation's memory and time grow with the proofs it
//! verifies in-circuit (about 2.5M cells, one advice column at k = 21, per
//! chunk proof; README "Aggregation": 4 proofs 7.9 GB and 325 s, 8 proofs
//! 12.3 GB). A node's proof costs about twice a chunk's to verify
//! in-circuit (its accumulator, and its own wider circuit: a node of one
//! proof plus one chunk proof took 4 advice columns, two chunk proofs 3),
//! so nodes of nodes take half the fan-in.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Chunk proofs a first-level node folds unless `compile --fan-in` says
/// otherwise: 4 fit in 8 GB at k = 21, and a build of up to 4 chunks keeps
/// a single aggregation, as before trees.
pub const DEFAULT_FAN_IN: usize = 4;

/// How a split build folds its chunk proofs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldShape {
    /// log2 rows of every aggregation circuit.
    pub k: u32,
    /// Chunk proofs per first-level node; nodes of nodes take half as many
    /// (at least 2).
    pub fan_in: usize,
}

impl FoldShape {
    fn fan_in_at(&self, level: usize) -> usize {
        match level {
            0 => self.fan_in.max(2),
            _ => (self.fan_in / 2).max(2),
        }
    }
}

/// One proof a node folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Child {
    Chunk(usize),
    /// A node by its level and index (a level below, or further down when
    /// it passed up alone).
    Node {
        level: usize,
        index: usize,
    },
}

/// An aggregation job: its children and the chunks they cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// 1 for nodes over chunks; the root is at the top.
    pub level: usize,
    pub index: usize,
    pub children: Vec<Child>,
    pub first_chunk: usize,
    pub last_chunk: usize,
}

impl Node {
    /// `L-I`, as `fold-chunks --node` takes it.
    pub fn name(&self) -> String {
        format!("{}-{}", self.level, self.index)
    }
}

/// Every node, level by level; the last level holds only the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub levels: Vec<Vec<Node>>,
}

impl Tree {
    /// The tree over `chunks` chunk proofs. Items are grouped in order, a
    /// group of one passes up unchanged (no node proves a single proof),
    /// until at most a fan-in's worth remain: the root folds those.
    pub fn new(chunks: usize, shape: FoldShape) -> Tree {
        let mut items: Vec<(Child, usize, usize)> =
            (0..chunks).map(|i| (Child::Chunk(i), i, i)).collect();
        let mut levels: Vec<Vec<Node>> = Vec::new();
        loop {
            let level = levels.len() + 1;
            let fan = shape.fan_in_at(levels.len());
            if items.len() <= fan {
                levels.push(vec![node(level, 0, &items)]);
                return Tree { levels };
            }
            let mut nodes = Vec::new();
            let mut next = Vec::new();
            for group in items.chunks(fan) {
                match group {
                    [single] => next.push(*single),
                    _ => {
                        let n = node(level, nodes.len(), group);
                        let child = Child::Node {
                            level: n.level,
                            index: n.index,
                        };
                        next.push((child, n.first_chunk, n.last_chunk));
                        nodes.push(n);
                    }
                }
            }
            levels.push(nodes);
            items = next;
        }
    }

    pub fn root(&self) -> &Node {
        &self.levels.last().expect("a tree has a root")[0]
    }

    /// Every aggregation job, in an order where children come first.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.levels.iter().flatten()
    }

    pub fn is_root(&self, n: &Node) -> bool {
        n.level == self.levels.len()
    }

    /// The node named `L-I` ([`Node::name`]), or `root`.
    pub fn find(&self, name: &str) -> Option<&Node> {
        if name == "root" {
            return Some(self.root());
        }
        self.nodes().find(|n| n.name() == name)
    }

    /// Where a node keeps its keys and proof: the build itself for the
    /// root, `agg-L-I/` below it.
    pub fn node_dir(&self, build: &Path, n: &Node) -> PathBuf {
        match self.is_root(n) {
            true => build.to_path_buf(),
            false => build.join(format!("agg-{}", n.name())),
        }
    }

    /// The node a [`Child::Node`] names.
    pub fn node(&self, level: usize, index: usize) -> &Node {
        &self.levels[level - 1][index]
    }
}

fn node(level: usize, index: usize, group: &[(Child, usize, usize)]) -> Node {
    Node {
        level,
        index,
        children: group.iter().map(|g| g.0).collect(),
        first_chunk: group[0].1,
        last_chunk: group[group.len() - 1].2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(fan_in: usize) -> FoldShape {
        FoldShape { k: 21, fan_in }
    }

    #[test]
    fn few_chunks_fold_in_one_root() {
        for n in 1..=4 {
            let t = Tree::new(n, fold(4));
            assert_eq!(t.levels.len(), 1);
            let children: Vec<Child> = (0..n).map(Child::Chunk).collect();
            assert_eq!(t.root().children, children);
        }
    }

    #[test]
    fn a_lone_chunk_passes_up_and_every_chunk_is_covered_once() {
        // 3 chunks, fan-in 2: a node over chunks 0-1, then the root over
        // that node and chunk 2.
        let t = Tree::new(3, fold(2));
        assert_eq!(t.levels.len(), 2);
        assert_eq!(
            t.levels[0][0].children,
            vec![Child::Chunk(0), Child::Chunk(1)]
        );
        let node = Child::Node { level: 1, index: 0 };
        assert_eq!(t.root().children, vec![node, Child::Chunk(2)]);
        for chunks in 1..200 {
            for fan_in in 2..9 {
                let t = Tree::new(chunks, fold(fan_in));
                let mut covered = Vec::new();
                collect(&t, t.root(), &mut covered);
                assert_eq!(
                    covered,
                    (0..chunks).collect::<Vec<_>>(),
                    "{chunks} chunks, fan-in {fan_in}"
                );
                for n in t.nodes() {
                    let fan = fold(fan_in).fan_in_at(n.level - 1);
                    assert!(n.children.len() <= fan && (n.children.len() > 1 || chunks == 1));
                }
            }
        }
    }

    /// The chunks under `n`, in order, checking each node's range.
    fn collect(t: &Tree, n: &Node, out: &mut Vec<usize>) {
        let from = out.len();
        for c in &n.children {
            match *c {
                Child::Chunk(i) => out.push(i),
                Child::Node { level, index } => collect(t, t.node(level, index), out),
            }
        }
        assert_eq!(
            (n.first_chunk, n.last_chunk),
            (out[from], out[out.len() - 1])
        );
    }

    use crate::aggregate::{ChildShape, Edge, Edges};

    /// A proof with `public` public inputs (after an accumulator, for a
    /// node) and its cuts carried at `link_in` and `link_out`.
    fn shape(
        public: usize,
        node: bool,
        link_in: Option<Edge>,
        link_out: Option<Edge>,
    ) -> ChildShape {
        let from = if node { 12 } else { 0 };
        let edges = [link_in, link_out].iter().flatten().count() * 6;
        let num_public = from + public + if node { edges } else { 0 };
        ChildShape {
            num_public,
            accumulator: node,
            exposed: (from..from + public).collect(),
            names: (0..num_public).map(|i| format!("p{i}")).collect(),
            specs: vec![],
            link_in,
            link_out,
        }
    }

    /// Three chunks in a row: each cut a point link between link columns,
    /// only the model's ends exposed; folded as one node, the outer cuts
    /// of its first and last chunk become its edges.
    #[test]
    fn consecutive_chunks_link_their_columns_and_pass_their_ends_up() {
        let first = shape(2, false, None, Some(Edge::Column(0)));
        let middle = shape(0, false, Some(Edge::Column(0)), Some(Edge::Column(1)));
        let last = shape(1, false, Some(Edge::Column(0)), None);
        let w = crate::split::wiring_of(&[first, middle.clone(), last]);
        assert_eq!(w.point_links, vec![[(0, 0), (1, 0)], [(1, 1), (2, 0)]]);
        assert!(w.links.is_empty() && w.limb_links.is_empty() && w.edges.is_none());
        assert_eq!(w.exposed, None, "every public input of every chunk");
        let w = crate::split::wiring_of(&[middle.clone(), middle]);
        assert_eq!(
            w.edges,
            Edges {
                input: Some((0, Edge::Column(0))),
                output: Some((1, Edge::Column(1))),
            }
        );
    }

    /// A node over chunks 0-2 beside chunk 3: the root links the limbs
    /// the node carries at its output edge (public inputs 14..20, after
    /// its accumulator and two model inputs) to chunk 3's input column.
    /// Two nodes meet limb for limb.
    #[test]
    fn a_cut_between_a_node_and_a_chunk_is_linked_by_their_parent() {
        let node = shape(2, true, None, Some(Edge::Limbs(14)));
        let chunk = shape(2, false, Some(Edge::Column(0)), None);
        let w = crate::split::wiring_of(&[node, chunk]);
        assert_eq!(w.limb_links, vec![[(1, 0), (0, 14)]]);
        assert!(w.links.is_empty() && w.point_links.is_empty() && w.edges.is_none());
        let left = shape(2, true, None, Some(Edge::Limbs(14)));
        let right = shape(0, true, Some(Edge::Limbs(12)), Some(Edge::Limbs(18)));
        let w = crate::split::wiring_of(&[left, right]);
        let expect: Vec<_> = (0..6).map(|l| [(0, 14 + l), (1, 12 + l)]).collect();
        assert_eq!(w.links, expect);
        assert_eq!(w.edges.output, Some((1, Edge::Limbs(18))));
    }

    #[test]
    fn a_thousand_chunks_make_nine_levels_at_fan_in_four() {
        let t = Tree::new(1000, fold(4));
        let sizes: Vec<usize> = t.levels.iter().map(Vec::len).collect();
        // Pairs above the first level; an odd one out passes up.
        assert_eq!(sizes, vec![250, 125, 62, 31, 16, 8, 4, 2, 1]);
    }
}
