//! [`DenseBackend`] for `Autodiff<B>`: runs the inner backend's forward,
//! checkpoints `x` and the weights, and on the backward pass asks the inner
//! backend for `(dx?, dweight, dbias)` and registers them with their parents
//! (as the filter-bank and pooled-convolution ops do).

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
    Autodiff, NodeId,
};
use burn::tensor::{backend::AutodiffBackend, ops::FloatTensor};

use super::{DenseBackend, OpGrads};

/// The backward step registered on the autodiff graph.
#[derive(Debug)]
struct DenseBackward;

impl<B: DenseBackend> Backward<B, 3> for DenseBackward {
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id) = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x_id);
        let w: FloatTensor<B> = ckpt.retrieve_node_output(w_id);
        B::dense_backward(x, w, grad, parents[0].is_some()).register(parents, grads);
    }
}

impl<B: DenseBackend, C: CheckpointStrategy> DenseBackend for Autodiff<B, C> {
    fn dense_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
        match DenseBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let y = B::dense_forward(x.primitive, weight.primitive, bias.primitive);
                prep.finish(state, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::dense_forward(
                x.primitive,
                weight.primitive,
                bias.primitive,
            )),
        }
    }

    fn dense_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        need_dx: bool,
    ) -> OpGrads<Self> {
        B::dense_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(grad),
            need_dx,
        )
        .into_autodiff()
    }
}
