package dev.retort.distill.maskd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.retort.nn.Ops;
import dev.retort.nn.Scalars;

/**
 * MasKD's tensor maths, shared by the module and the parity check. No function forms the reference's B×T×C×H×W
 * tensors: masks enter through per-pixel sums (spec §2.6), which give the same values and gradients.
 */
final class MaskdMath {
    /** The Dice loss's ε on each squared norm, as the official {@code dice_coeff}. */
    static final double DICE_EPS = 1e-12;

    private MaskdMath() {}

    /** {@code sigmoid(R·F)}: tokens R [T, C] and a map F [B, C, H, W] give masks [B, T, H·W] (the official {@code forward_mask}). */
    static NDArray masks(NDArray tokens, NDArray map) {
        Shape s = map.getShape();
        NDArray flat = map.reshape(s.get(0), s.get(1), s.get(2) * s.get(3));
        return Activation.sigmoid(tokens.expandDims(0).matMul(flat));
    }

    /** Masks [B, T, N] as maps [B, T, H, W] of {@code like}'s spatial size. */
    static NDArray asMaps(NDArray masks, NDArray like) {
        Shape s = masks.getShape();
        return masks.reshape(s.get(0), s.get(1), like.getShape().get(2), like.getShape().get(3));
    }

    /**
     * The Dice diversity loss of masks [B, T, N]: the mean over the B·T·(T−1) ordered pairs i ≠ j of
     * 2⟨M_i, M_j⟩ / (‖M_i‖² + ‖M_j‖² + 2ε).
     */
    static NDArray dice(NDArray masks) {
        long b = masks.getShape().get(0), t = masks.getShape().get(1);
        NDArray gram = masks.matMul(masks.transpose(0, 2, 1));               // [B, T, T]
        NDArray norms = masks.square().sum(new int[] {2});                   // [B, T]
        NDArray denominator = Scalars.add(norms.expandDims(1).add(norms.expandDims(2)), 2 * DICE_EPS);
        NDArray ratio = Scalars.mul(gram, 2).div(denominator);
        NDArray offDiagonal = masks.getManager().ones(new Shape(t, t)).sub(masks.getManager().eye((int) t));
        return Scalars.div(ratio.mul(offDiagonal).sum(), (double) b * t * (t - 1));
    }

    /** The per-pixel sum of the masks, Σ_k w_k·M_k [B, N]; {@code weights} [B, T], or null for w_k = 1. */
    static NDArray coverage(NDArray masks, NDArray weights) {
        return (weights == null ? masks : masks.mul(weights.expandDims(2))).sum(new int[] {1});
    }

    /** Σ_k w_k·M_k ⊙ F (the official {@code forward_train} output) as F times the per-pixel coverage [B, N]. */
    static NDArray masked(NDArray map, NDArray coverage) {
        Shape s = map.getShape();
        return map.mul(coverage.reshape(s.get(0), 1, s.get(2), s.get(3)));
    }

    /**
     * Per image and mask, Σ_c ℓ_{b,k,c} = Σ_p M_k(p)²·e(p) / (Σ_p M_k(p) + ε) with e(p) = Σ_c (y_s − y_t)²(c, p): [B, T].
     * The reference's ℓ_{b,k,c} summed over c, computed without the B×T×C×H×W products.
     */
    static NDArray maskedSquareError(NDArray student, NDArray teacher, NDArray masks, double eps) {
        Shape s = student.getShape();
        NDArray error = student.sub(teacher).square().sum(new int[] {1}).reshape(s.get(0), s.get(2) * s.get(3), 1);  // [B, N, 1]
        NDArray weighted = masks.square().matMul(error).squeeze(2);                                                    // [B, T]
        NDArray area = masks.sum(new int[] {2});
        return weighted.div(eps > 0 ? Scalars.add(area, eps) : area);
    }

    /**
     * The mask weighting module ({@code prob}): Conv3×3 (padding 1, bias) → global average pool → Conv1×1 (bias) →
     * softmax over the T masks; [B, T].
     */
    static NDArray maskWeights(NDArray map, NDArray w0, NDArray b0, NDArray w2, NDArray b2) {
        NDArray hidden = Ops.conv2d(map, w0, b0, 1, 1, 1);
        long b = hidden.getShape().get(0), c = hidden.getShape().get(1);
        NDArray pooled = hidden.reshape(b, c, -1).mean(new int[] {2}).reshape(b, c, 1, 1);
        NDArray logits = Ops.conv2d(pooled, w2, b2, 1, 0, 1);
        return logits.reshape(b, logits.getShape().get(1)).softmax(1);
    }

    /**
     * The official {@code SegCrossEntropyLoss}: logits resized bilinearly with align_corners = true to the labels' size,
     * then the unweighted mean cross-entropy over the pixels whose label is not {@code ignore}.
     */
    static NDArray crossEntropy(NDArray logits, NDArray labels, int ignore) {
        long h = labels.getShape().get(1), w = labels.getShape().get(2);
        if (logits.getShape().get(2) != h || logits.getShape().get(3) != w) {
            logits = Ops.resizeBilinear(logits, h, w, true);
        }
        NDArray index = labels.toType(DataType.INT64, false);
        NDArray keep = Scalars.neq(index, ignore);
        NDArray safe = index.mul(keep.toType(DataType.INT64, false));  // ignored pixels point at class 0 and count 0
        NDArray keepF = keep.toType(DataType.FLOAT32, false);
        NDArray nll = logits.logSoftmax(1).gather(safe.expandDims(1), 1).squeeze(1).neg();
        return nll.mul(keepF).sum().div(keepF.sum());
    }
}
