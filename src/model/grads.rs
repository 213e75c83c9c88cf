//! What the backward pass of each of the model's backend ops returns (the
//! fused filter bank, the pooled convolution, the dense op: an input, a
//! weight and a bias each), and the two steps their `Autodiff<B>`
//! implementations share: lifting the inner backend's gradients and
//! registering them with the op's parents.

use burn::backend::autodiff::{
    checkpoint::strategy::CheckpointStrategy, grads::Gradients, Autodiff, NodeId,
};
use burn::tensor::{
    backend::{AutodiffBackend, Backend},
    ops::FloatTensor,
};

/// Gradients of an op of `(x, weight, bias)`.
#[derive(Debug)]
pub struct OpGrads<B: Backend> {
    /// Gradient with respect to `x`, when it was asked for.
    pub x: Option<FloatTensor<B>>,
    /// Gradient with respect to the weights (the weights' shape).
    pub weight: FloatTensor<B>,
    /// Gradient with respect to the biases.
    pub bias: FloatTensor<B>,
}

impl<B: Backend> OpGrads<B> {
    /// The inner backend's gradients as tensors of `Autodiff<B, C>`.
    pub(crate) fn into_autodiff<C: CheckpointStrategy>(self) -> OpGrads<Autodiff<B, C>> {
        OpGrads {
            x: self.x.map(Autodiff::<B, C>::from_inner),
            weight: Autodiff::<B, C>::from_inner(self.weight),
            bias: Autodiff::<B, C>::from_inner(self.bias),
        }
    }

    /// Registers each gradient with its parent `(x, weight, bias)` on the
    /// graph, where that parent is tracked.
    pub(crate) fn register(self, parents: [Option<NodeId>; 3], grads: &mut Gradients) {
        let [x, weight, bias] = parents;
        if let (Some(id), Some(dx)) = (x, self.x) {
            grads.register::<B>(id, dx);
        }
        if let Some(id) = weight {
            grads.register::<B>(id, self.weight);
        }
        if let Some(id) = bias {
            grads.register::<B>(id, self.bias);
        }
    }
}
