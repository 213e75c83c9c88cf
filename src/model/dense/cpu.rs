//! The dense layer on the CPU: [`DenseBackend`] for burn's `NdArray`.
//!
//! Each matrix product is split into blocks of output rows or columns
//! (whichever the output has more of), one single-threaded sgemm
//! (`matrixmultiply`) per block, run in parallel with rayon. Operands are
//! read through their strides, so the transposes of the backward pass cost
//! nothing. No sum is split: every output element is one sgemm dot product
//! over the whole inner dimension, whatever the block, so results are
//! bit-identical for any thread count.

use std::borrow::Cow;

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use rayon::prelude::*;

use super::{DenseBackend, OpGrads};
use crate::model::host::{float_tensor, ndarray_f32_ref};

/// Rows or columns of the output per block, at least.
const BLOCK_MIN: usize = 16;

/// A read-only matrix view: `rows × cols`, element `(i, j)` at
/// `data[i · rs + j · cs]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Offset one past the last element read.
    fn extent(&self) -> usize {
        (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
    }
}

/// A raw pointer to the output, shared by blocks that write disjoint elements.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: blocks write disjoint elements of the output (see `product`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The pointer (a method, so closures capture the `Send` wrapper, not
    /// its field).
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `a · b` as a row-major `a.rows × b.cols` matrix.
fn product(a: View<'_>, b: View<'_>) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions");
    if m == 0 || n == 0 {
        return Vec::new();
    }
    // Not zeroed: sgemm with β = 0 writes every element of c without reading
    // it (a 13 MB weight gradient is otherwise written twice).
    let mut c = Vec::<f32>::with_capacity(m * n);
    assert!(k > 0 && a.extent() <= a.data.len() && b.extent() <= b.data.len());
    let by_rows = m >= n;
    let len = if by_rows { m } else { n };
    let blocks = rayon::current_num_threads()
        .min(len.div_ceil(BLOCK_MIN))
        .max(1);
    let size = len.div_ceil(blocks);
    let out = Out(c.as_mut_ptr());
    (0..len.div_ceil(size)).into_par_iter().for_each(|block| {
        let (start, end) = (block * size, ((block + 1) * size).min(len));
        // Block rows of a and c, or columns of b and c.
        let (rows, cols, a_at, b_at, c_at) = if by_rows {
            (end - start, n, start * a.rs, 0, start * n)
        } else {
            (m, end - start, 0, start * b.cs, start)
        };
        // SAFETY: the asserts above keep every read of a and b inside their
        // slices (a block reads a sub-view); the block writes rows
        // start..end (or columns start..end) of c's m × n row-major
        // capacity, which no other block writes, and c outlives the
        // parallel loop. With β = 0, sgemm never reads c.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                k,
                cols,
                1.0,
                a.data.as_ptr().add(a_at),
                a.rs as isize,
                a.cs as isize,
                b.data.as_ptr().add(b_at),
                b.rs as isize,
                b.cs as isize,
                0.0,
                out.at(c_at),
                n as isize,
                1,
            );
        }
    });
    // SAFETY: the blocks cover all rows (or all columns), so sgemm wrote all
    // m × n elements.
    unsafe { c.set_len(m * n) };
    c
}

/// `(values, rows, cols)` of a 2-D tensor, borrowed where it can be.
fn matrix(t: &NdArrayTensor) -> (Cow<'_, [f32]>, usize, usize) {
    let (values, shape) = ndarray_f32_ref(t);
    (values, shape[0], shape[1])
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> DenseBackend
    for NdArray<E, I, Q>
where
    NdArrayTensor: From<SharedArray<E>>,
    NdArrayTensor: From<SharedArray<I>>,
{
    fn dense_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let device = Self::float_device(&x);
        let (x, batch, inputs) = matrix(&x);
        let (w, _, outputs) = matrix(&weight);
        let (b, _) = ndarray_f32_ref(&bias);
        let mut y = product(
            View::row_major(&x, batch, inputs),
            View::row_major(&w, inputs, outputs),
        );
        for row in y.chunks_exact_mut(outputs) {
            row.iter_mut().zip(b.iter()).for_each(|(v, b)| *v += b);
        }
        float_tensor::<Self>(y, &[batch, outputs], &device)
    }

    fn dense_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        need_dx: bool,
    ) -> OpGrads<Self> {
        let device = Self::float_device(&x);
        let (x, batch, inputs) = matrix(&x);
        let (w, _, outputs) = matrix(&weight);
        let (g, _, _) = matrix(&grad);
        let (x, w, g) = (
            View::row_major(&x, batch, inputs),
            View::row_major(&w, inputs, outputs),
            View::row_major(&g, batch, outputs),
        );
        let mut db = vec![0.0f32; outputs];
        for row in g.data.chunks_exact(outputs) {
            db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
        }
        let float = |v, shape: &[usize]| float_tensor::<Self>(v, shape, &device);
        OpGrads {
            x: need_dx.then(|| float(product(g, w.transposed()), &[batch, inputs])),
            weight: float(product(x.transposed(), g), &[inputs, outputs]),
            bias: float(db, &[outputs]),
        }
    }
}
