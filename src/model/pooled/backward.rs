//! [`PooledConvBackend`] for `Autodiff<B>`: runs the inner backend's forward,
//! checkpoints `x` and the weights, and on the backward pass asks the inner
//! backend for `(dx?, dweight, dbias)` and registers them with their parents
//! (as [`crate::model::fused`]'s filter bank does).
//!
//! `dx` is computed only when `x` is tracked (it is the network's input, so
//! usually it is not).

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
    Autodiff, NodeId,
};
use burn::tensor::{
    backend::AutodiffBackend,
    ops::{FloatTensor, IntTensor},
};

use super::{OpGrads, PooledConvBackend, PooledLayout};

/// The backward step registered on the autodiff graph.
#[derive(Debug)]
struct PooledConvBackward;

/// What the backward step needs from the forward pass.
type State<B> = (NodeId, NodeId, FloatTensor<B>, IntTensor<B>, PooledLayout);

impl<B: PooledConvBackend> Backward<B, 3> for PooledConvBackward {
    type State = State<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id, output, argmax, layout) = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x_id);
        let w: FloatTensor<B> = ckpt.retrieve_node_output(w_id);
        let need_dx = parents[0].is_some();
        B::pooled_conv_backward(x, w, output, argmax, grad, &layout, need_dx)
            .register(parents, grads);
    }
}

impl<B: PooledConvBackend, C: CheckpointStrategy> PooledConvBackend for Autodiff<B, C> {
    fn pooled_conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        layout: &PooledLayout,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
        match PooledConvBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_id = prep.checkpoint(&x);
                let w_id = prep.checkpoint(&weight);
                let (out, argmax) =
                    B::pooled_conv_forward(x.primitive, weight.primitive, bias.primitive, layout);
                let state = (x_id, w_id, out.clone(), argmax.clone(), *layout);
                (prep.finish(state, out), argmax)
            }
            OpsKind::UnTracked(prep) => {
                let (out, argmax) =
                    B::pooled_conv_forward(x.primitive, weight.primitive, bias.primitive, layout);
                (prep.finish(out), argmax)
            }
        }
    }

    fn pooled_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output: FloatTensor<Self>,
        argmax: IntTensor<Self>,
        grad: FloatTensor<Self>,
        layout: &PooledLayout,
        need_dx: bool,
    ) -> OpGrads<Self> {
        B::pooled_conv_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(output),
            argmax,
            Self::inner(grad),
            layout,
            need_dx,
        )
        .into_autodiff()
    }
}
