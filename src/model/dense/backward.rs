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

use super::{DenseBackend, DenseGrads};

/// The backward step registered on the autodiff graph.
#[derive(Debug)]
struct DenseBackward;

impl<B: DenseBackend> Backward<B, 3> for DenseBackward {
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, ckpt: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id) = ops.state;
        let x: FloatTensor<B> = ckpt.retrieve_node_output(x_id);
        let w: FloatTensor<B> = ckpt.retrieve_node_output(w_id);
        let g = B::dense_backward(x, w, grad, node_x.is_some());
        if let (Some(node), Some(dx)) = (node_x, g.x) {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_w {
            grads.register::<B>(node.id, g.weight);
        }
        if let Some(node) = node_b {
            grads.register::<B>(node.id, g.bias);
        }
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
    ) -> DenseGrads<Self> {
        let g = B::dense_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(grad),
            need_dx,
        );
        DenseGrads {
            x: g.x.map(Self::from_inner),
            weight: Self::from_inner(g.weight),
            bias: Self::from_inner(g.bias),
        }
    }
}
