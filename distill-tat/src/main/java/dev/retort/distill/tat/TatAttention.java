package dev.retort.distill.tat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Ops;

/**
 * The two terms of TaT-seg's {@code distillation_loss_all} on embedded maps q = γ(F_s), k = θ(F_t), v = φ(F_s) and
 * the raw teacher map F_t, all B×C×h×w: the target-aware attention softmax(Q·Kᵀ)·V (no scaling) and the MSE of its
 * output against F_t arranged the same way. Computed with reshapes instead of {@code unfold}; the element order of
 * the official code is kept wherever it decides the result (the channel groups).
 */
final class TatAttention {
    private TatAttention() {}

    /**
     * Patch-group term ({@code distillation_patchgroup} with {@code grid_tensor_seq}, {@code stack_attn}): patches of
     * floor(h/n)×floor(w/m) (the remainder rows and columns dropped, so there are floor(h/ph)·floor(w/pw) of them),
     * stacked into channels in raster order (channel = patch·C + c), split into {@code heads} contiguous groups; the
     * tokens are the intra-patch positions.
     */
    static NDArray patchGroup(NDArray q, NDArray k, NDArray v, NDArray teacher, int n, int m, int heads, int stage) {
        Shape s = q.getShape();
        long c = s.get(1), h = s.get(2), w = s.get(3);
        long ph = h / n, pw = w / m;
        if (ph < 1 || pw < 1) {
            throw new RetortConfigException("tat stage " + stage + ": a " + h + "x" + w + " map cannot hold a " + n + "x" + m
                    + " patch grid (patch_grids asks for more patches than rows or columns)");
        }
        long rows = h / ph, cols = w / pw;  // the number of patches unfold makes, which can exceed n×m
        if ((rows * cols * c) % heads != 0) {
            throw new RetortConfigException("tat stage " + stage + ": " + heads + " groups do not divide the " + rows + "x" + cols + " patches × "
                    + c + " channels of a " + h + "x" + w + " map (heads must divide patches·channels)");
        }
        return attentionLoss(groups(q, rows, cols, ph, pw, heads), groups(k, rows, cols, ph, pw, heads), groups(v, rows, cols, ph, pw, heads),
                groups(teacher, rows, cols, ph, pw, heads));
    }

    /**
     * Anchor-point term ({@code distillation_anchorpoint}): average pooling with kernel = stride = floor(h/anchor_h)×floor(w/anchor_w)
     * (floor mode, no padding) of q, k, v and F_t, then the attention over all anchors as one group.
     */
    static NDArray anchorPoint(NDArray q, NDArray k, NDArray v, NDArray teacher, int anchorH, int anchorW, int stage) {
        Shape s = q.getShape();
        long h = s.get(2), w = s.get(3);
        long kh = h / anchorH, kw = w / anchorW;
        if (kh < 1 || kw < 1) {
            throw new RetortConfigException("tat stage " + stage + ": a " + h + "x" + w + " map cannot be pooled to " + anchorH + "x" + anchorW
                    + " anchors (anchors asks for more anchors than rows or columns)");
        }
        return attentionLoss(tokens(pool(q, kh, kw)), tokens(pool(k, kh, kw)), tokens(pool(v, kh, kw)), tokens(pool(teacher, kh, kw)));
    }

    /** MSE(softmax(Q·Kᵀ)·V, T) for [..., tokens, d] arrays: the official {@code sub_loss}. */
    static NDArray attentionLoss(NDArray q, NDArray k, NDArray v, NDArray target) {
        int last = q.getShape().dimension() - 1;
        NDArray affinity = Ops.matMul(q, k.swapAxes(last - 1, last)).softmax(-1);
        return Ops.matMul(affinity, v).sub(target).square().mean();
    }

    /** B×C×h×w → B×g×(ph·pw)×(P·C/g): patches in raster order stacked into channels, channels split into g groups, tokens last but one. */
    static NDArray groups(NDArray x, long rows, long cols, long ph, long pw, int heads) {
        Shape s = x.getShape();
        long b = s.get(0), c = s.get(1);
        NDArray cropped = crop(x, rows * ph, cols * pw);
        NDArray patches = cropped.reshape(b, c, rows, ph, cols, pw).transpose(0, 2, 4, 1, 3, 5);  // B, rows, cols, C, ph, pw
        return patches.reshape(b, heads, rows * cols * c / heads, ph * pw).swapAxes(2, 3);
    }

    /** Average pooling with kernel = stride = kh×kw, floor mode: B×C×(h/kh)×(w/kw). */
    static NDArray pool(NDArray x, long kh, long kw) {
        Shape s = x.getShape();
        long b = s.get(0), c = s.get(1), gh = s.get(2) / kh, gw = s.get(3) / kw;
        if (kh == 1 && kw == 1) return x;
        return crop(x, gh * kh, gw * kw).reshape(b, c, gh, kh, gw, kw).mean(new int[] {5}).mean(new int[] {3});  // one axis at a time: PtNDArray.mean takes one
    }

    /** B×C×h×w → B×(h·w)×C, tokens in raster order. */
    private static NDArray tokens(NDArray map) {
        Shape s = map.getShape();
        return map.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).swapAxes(1, 2);
    }

    private static NDArray crop(NDArray x, long height, long width) {
        Shape s = x.getShape();
        if (s.get(2) == height && s.get(3) == width) return x;
        return x.get(new NDIndex(":, :, :{}, :{}", (int) height, (int) width));
    }
}
