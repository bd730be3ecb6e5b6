//! Einsum: every output element is a sum, over the letters the output
//! leaves out, of the product of one element of each operand. Constant
//! factors become weights; one dynamic factor is a term, two a product
//! (one neuron holds all of an element's terms and unit-weight products);
//! more are chained products.

use super::pwl::resolve;
use super::smooth::product;
use super::*;
use std::collections::BTreeMap;

/// An operand's letters, with `...` spelled as the letters `'0'..` of the
/// ellipsis dims.
fn expand(spec: &str, rank: usize, ellipsis_rank: usize) -> Option<Vec<char>> {
    let named = spec.replace("...", "").chars().count();
    let mut out = Vec::new();
    let mut rest = spec;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("...") {
            // This operand's ellipsis dims align to the right of all of them.
            let own = rank.checked_sub(named)?;
            out.extend((ellipsis_rank - own..ellipsis_rank).map(|i| char::from(b'0' + i as u8)));
            rest = tail;
        } else {
            let c = rest.chars().next()?;
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    (out.len() == rank).then_some(out)
}

pub(super) fn einsum(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let equation: String = n
        .attr_str("equation", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let operands: Vec<Sym> = n.inputs.iter().flatten().cloned().collect();
    let (lhs, rhs) = match equation.split_once("->") {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (equation.clone(), None),
    };
    let specs: Vec<&str> = lhs.split(',').collect();
    if specs.len() != operands.len() || operands.is_empty() {
        return Err(n.err(format!(
            "equation '{equation}' names {} operands, the node has {}",
            specs.len(),
            operands.len()
        )));
    }
    let ellipsis_rank = specs
        .iter()
        .zip(&operands)
        .filter(|(s, _)| s.contains("..."))
        .map(|(s, o)| o.shape().len().saturating_sub(s.replace("...", "").len()))
        .max()
        .unwrap_or(0);
    let letters: Vec<Vec<char>> = specs
        .iter()
        .zip(&operands)
        .map(|(s, o)| {
            expand(s, o.shape().len(), ellipsis_rank)
                .ok_or_else(|| n.err(format!("'{s}' does not fit shape {:?}", o.shape())))
        })
        .collect::<Result<_, _>>()?;
    // Every letter's size (1 broadcasts).
    let mut size: BTreeMap<char, usize> = BTreeMap::new();
    for (ls, o) in letters.iter().zip(&operands) {
        for (&c, &d) in ls.iter().zip(o.shape()) {
            let e = size.entry(c).or_insert(d);
            if *e == 1 {
                *e = d;
            } else if d != 1 && d != *e {
                return Err(n.err(format!("letter '{c}' has sizes {} and {d}", *e)));
            }
        }
    }
    let ellipsis: Vec<char> = (0..ellipsis_rank)
        .map(|i| char::from(b'0' + i as u8))
        .collect();
    let out_letters: Vec<char> = match rhs {
        Some(r) => {
            let mut v = Vec::new();
            let mut rest = r.as_str();
            while !rest.is_empty() {
                if let Some(tail) = rest.strip_prefix("...") {
                    v.extend(&ellipsis);
                    rest = tail;
                } else {
                    let c = rest.chars().next().expect("not empty");
                    v.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
            v
        }
        None => {
            // Implicit: the ellipsis, then letters that occur once, sorted.
            let mut count: BTreeMap<char, usize> = BTreeMap::new();
            letters
                .iter()
                .flatten()
                .filter(|c| !ellipsis.contains(c))
                .for_each(|&c| *count.entry(c).or_default() += 1);
            ellipsis
                .iter()
                .copied()
                .chain(count.into_iter().filter(|(_, k)| *k == 1).map(|(c, _)| c))
                .collect()
        }
    };
    if let Some(c) = out_letters.iter().find(|c| !size.contains_key(c)) {
        return Err(n.err(format!("output letter '{c}' names no input dim")));
    }
    let summed: Vec<char> = size
        .keys()
        .copied()
        .filter(|c| !out_letters.contains(c))
        .collect();
    let out_shape: Vec<usize> = out_letters.iter().map(|c| size[c]).collect();
    let sum_shape: Vec<usize> = summed.iter().map(|c| size[c]).collect();
    let value_at = |assign: &BTreeMap<char, usize>, k: usize| -> Elem {
        let (ls, o) = (&letters[k], &operands[k]);
        let flat = ls.iter().zip(o.shape()).fold(0, |acc, (c, &d)| {
            acc * d + if d == 1 { 0 } else { assign[c] }
        });
        elem(o, flat)
    };
    let mut elems = Vec::with_capacity(numel(&out_shape));
    for o in 0..numel(&out_shape) {
        let mut assign: BTreeMap<char, usize> = BTreeMap::new();
        let mut rest = o;
        for (c, &d) in out_letters.iter().zip(&out_shape).rev() {
            assign.insert(*c, rest % d);
            rest /= d;
        }
        let mut neuron = Neuron {
            terms: vec![],
            products: vec![],
            bias: 0.0,
            act: Activation::Identity,
            node: n.index,
        };
        let mut extra = Affine::default();
        for s in 0..numel(&sum_shape).max(1) {
            let mut r = s;
            for (c, &d) in summed.iter().zip(&sum_shape).rev() {
                assign.insert(*c, r % d);
                r /= d;
            }
            let mut w = 1.0;
            let mut dynamic = Vec::new();
            for k in 0..operands.len() {
                match resolve(l, value_at(&assign, k)) {
                    Elem::Const(c) => w *= c,
                    Elem::Val(id) => dynamic.push(id),
                }
            }
            match dynamic[..] {
                _ if w == 0.0 => {}
                [] => neuron.bias += w,
                [a] => neuron.terms.push((a, w)),
                [a, b] if w.abs() == 1.0 => neuron.products.push((a, b, w)),
                _ => {
                    let chained = dynamic
                        .iter()
                        .skip(1)
                        .fold(Elem::Val(dynamic[0]), |acc, &v| {
                            product(l, n.index, acc, Elem::Val(v))
                        });
                    extra.add_scaled(&Affine::of(chained), w);
                }
            }
        }
        if neuron.products.is_empty() {
            let mut form = Affine {
                terms: neuron.terms,
                bias: neuron.bias,
            };
            form.add_scaled(&extra, 1.0);
            elems.push(l.element(n.index, form));
        } else {
            neuron.terms.extend(extra.terms);
            neuron.bias += extra.bias;
            elems.push(Elem::Val(l.push_neuron(neuron)));
        }
    }
    Ok(l.tensor(n.index, out_shape, elems))
}
