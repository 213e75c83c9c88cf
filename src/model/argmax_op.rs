//! The autodiff side of the model's two pooled ops, the fused filter bank
//! and the pooled convolution: both take `(x, weight, bias)` and a static
//! layout, return their output with its arg-max, and compute their gradients
//! from that output and arg-max. [`tracked_forward`] runs an op's forward on
//! the inner backend and, when anything is tracked, checkpoints `x` and the
//! weights and registers [`ArgmaxBackward`], which asks the inner backend
//! for `(dx?, dweight, dbias)` (`dx` only when `x` is tracked: it is the
//! network's input, so usually it is not).

use std::fmt::Debug;
use std::marker::PhantomData;

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
    Autodiff, NodeId,
};
use burn::tensor::{
    backend::Backend,
    ops::{FloatTensor, IntTensor},
};

use super::OpGrads;

/// An op on backend `B` with the forward and backward passes described above.
pub(crate) trait ArgmaxOp<B: Backend>: Debug + Send + Sync + 'static {
    /// The op's static description (filter shapes, pooling).
    type Layout: Clone + Debug + Send + Sync + 'static;

    /// `(output, arg-max)`.
    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        layout: &Self::Layout,
    ) -> (FloatTensor<B>, IntTensor<B>);

    /// Gradients from the forward's output and arg-max and the upstream `grad`.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output: FloatTensor<B>,
        argmax: IntTensor<B>,
        grad: FloatTensor<B>,
        layout: &Self::Layout,
        need_dx: bool,
    ) -> OpGrads<B>;
}

/// The backward step of op `Op`, registered on the autodiff graph.
#[derive(Debug)]
struct ArgmaxBackward<Op>(PhantomData<Op>);

impl<B: Backend, Op: ArgmaxOp<B>> Backward<B, 3> for ArgmaxBackward<Op> {
    /// Checkpointed `x` and weights, the output, the arg-max, the layout.
    type State = (NodeId, NodeId, FloatTensor<B>, IntTensor<B>, Op::Layout);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id, output, argmax, layout) = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x_id);
        let w: FloatTensor<B> = ckpt.retrieve_node_output(w_id);
        let need_dx = parents[0].is_some();
        Op::backward(x, w, output, argmax, grad, &layout, need_dx).register(parents, grads);
    }
}

/// `(output, arg-max)` on `Autodiff<B, C>`.
type TrackedOutput<B, C> = (FloatTensor<Autodiff<B, C>>, IntTensor<Autodiff<B, C>>);

/// Runs `Op`'s forward on `Autodiff<B, C>` (see the module documentation).
pub(crate) fn tracked_forward<B: Backend, C: CheckpointStrategy, Op: ArgmaxOp<B>>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: FloatTensor<Autodiff<B, C>>,
    layout: &Op::Layout,
) -> TrackedOutput<B, C> {
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    match ArgmaxBackward::<Op>(PhantomData)
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_id = prep.checkpoint(&x);
            let w_id = prep.checkpoint(&weight);
            let (out, argmax) = Op::forward(x.primitive, weight.primitive, bias.primitive, layout);
            let state = (x_id, w_id, out.clone(), argmax.clone(), layout.clone());
            (prep.finish(state, out), argmax)
        }
        OpsKind::UnTracked(prep) => {
            let (out, argmax) = Op::forward(x.primitive, weight.primitive, bias.primitive, layout);
            (prep.finish(out), argmax)
        }
    }
}
