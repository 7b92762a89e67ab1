package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.retort.nn.Scalars;

/**
 * The losses distillers and the objective share, with the reductions of the PyTorch references. Each returns a
 * scalar array in the manager of its first argument.
 */
public final class Losses {
    private Losses() {}

    /**
     * Mean squared error over all elements (PyTorch's {@code mse_loss} with reduction 'mean'). The two arrays must
     * have the same shape: a broadcast (e.g. a 2×3 student map against a 3×4 teacher map whose sizes were rounded
     * differently at an input size that is not a multiple of 32) is refused, not averaged.
     */
    public static NDArray mse(NDArray actual, NDArray expected) {
        requireSameShape("mse", actual, expected);
        return actual.sub(expected).square().mean();
    }

    /**
     * Hinton's distillation loss: {@code τ² · mean over positions of Σ_k p_t,k (log p_t,k − log p_s,k)} with
     * {@code p = softmax(z / τ)} over axis 1 (the classes), averaged over every other axis (batch and pixels).
     *
     * @param student     logits [B, K, …]
     * @param teacher     logits of the same shape
     * @param temperature τ > 0
     */
    public static NDArray klDivergence(NDArray student, NDArray teacher, double temperature) {
        requirePositive(temperature);
        requireSameShape("kl divergence", student, teacher);
        NDArray t = Scalars.div(teacher, temperature).logSoftmax(1);
        NDArray s = Scalars.div(student, temperature).logSoftmax(1);
        NDArray kl = t.exp().mul(t.sub(s)).sum(new int[] {1}).mean();
        return Scalars.mul(kl, temperature * temperature);
    }

    /**
     * Channel-wise distillation (Shu et al., CWD): each channel's map becomes a distribution over its H·W positions,
     * {@code softmax(x / τ)}; the loss is {@code τ² · Σ_{n,c} KL(p_t ‖ p_s) / (N·C)}.
     *
     * @param student     maps [N, C, H, W]
     * @param teacher     maps of the same shape
     * @param temperature τ > 0
     */
    public static NDArray channelWiseDivergence(NDArray student, NDArray teacher, double temperature) {
        requirePositive(temperature);
        requireSameShape("channel-wise divergence", student, teacher);
        long n = student.getShape().get(0), c = student.getShape().get(1);
        long positions = student.getShape().size() / (n * c);
        NDArray t = Scalars.div(teacher.reshape(n * c, positions), temperature).logSoftmax(1);
        NDArray s = Scalars.div(student.reshape(n * c, positions), temperature).logSoftmax(1);
        NDArray kl = t.exp().mul(t.sub(s)).sum();
        return Scalars.mul(kl, temperature * temperature / (n * c));
    }

    /** HCL pyramid levels (ReviewKD's hierarchical context loss), coarsest last. */
    private static final int[] HCL_LEVELS = {4, 2, 1};

    /**
     * ReviewKD's hierarchical context loss for one stage: the MSE of the maps plus the MSEs of their adaptive average
     * pools to 4×4, 2×2 and 1×1, weighted 1/2, 1/4, 1/8, divided by the sum of the weights used. A level not smaller
     * than the map's height is skipped and does not take a halving (so a 4-high map uses 2×2 at 1/2 and 1×1 at 1/4).
     *
     * @param student maps [N, C, H, W]
     * @param teacher maps of the same shape
     */
    public static NDArray hcl(NDArray student, NDArray teacher) {
        NDArray loss = mse(student, teacher);
        long height = student.getShape().get(2);
        double weight = 1, total = 1;
        for (int level : HCL_LEVELS) {
            if (level >= height) continue;
            weight /= 2;
            loss = loss.add(Scalars.mul(mse(Resize.to(student, level, level, Resize.Mode.AREA), Resize.to(teacher, level, level, Resize.Mode.AREA)),
                    weight));
            total += weight;
        }
        return Scalars.div(loss, total);
    }

    /**
     * Class-weighted cross entropy with PyTorch's weighted-mean reduction:
     * {@code Σ_p w[y_p]·(−log softmax(z_p)[y_p]) / Σ_p w[y_p]} over every pixel of the batch.
     *
     * @param logits  [B, K, H, W]
     * @param labels  [B, H, W] class indices in 0..K−1 (integer type); a class with weight 0 is ignored (no pixel
     *                of weight above 0: the loss is 0, not PyTorch's NaN)
     * @param weights [K]
     */
    public static NDArray weightedCrossEntropy(NDArray logits, NDArray labels, NDArray weights) {
        return weightedCrossEntropy(logits, labels, weights, -1);
    }

    /**
     * As {@link #weightedCrossEntropy(NDArray, NDArray, NDArray)}, with pixels labelled {@code ignoreIndex} (e.g. 255,
     * outside the K classes) left out of both sums; −1 for none.
     */
    public static NDArray weightedCrossEntropy(NDArray logits, NDArray labels, NDArray weights, int ignoreIndex) {
        long classes = logits.getShape().get(1);
        if (ignoreIndex >= classes) {
            NDArray keep = Scalars.neq(labels, ignoreIndex);
            NDArray safe = labels.toType(DataType.INT64, false).mul(keep.toType(DataType.INT64, false));  // ignored → class 0, weight 0 below
            NDArray nll = nll(logits, safe);
            NDArray w = classWeights(logits, safe, weights).mul(keep.toType(DataType.FLOAT32, false));
            return weightedMean(nll, w);
        }
        NDArray nll = nll(logits, labels);
        NDArray w = classWeights(logits, labels, weights);
        return weightedMean(nll, w);
    }

    /**
     * {@code Σ w·nll / Σ w}, and 0 where no pixel counts (Σ w = 0, a batch of unlabelled images, whose pixels only
     * distillation terms read), where PyTorch's reduction would give NaN and the step would be skipped.
     */
    private static NDArray weightedMean(NDArray nll, NDArray w) {
        NDArray total = w.sum();
        return nll.mul(w).sum().div(total.add(Scalars.eq(total, 0).toType(total.getDataType(), false)));
    }

    private static NDArray nll(NDArray logits, NDArray labels) {
        NDArray labelIndex = labels.toType(DataType.INT64, false).expandDims(1);
        return logits.logSoftmax(1).gather(labelIndex, 1).squeeze(1).neg();
    }

    private static NDArray classWeights(NDArray logits, NDArray labels, NDArray weights) {
        long k = weights.getShape().get(0);
        NDArray w = weights.reshape(1, k, 1, 1);
        w.attach(logits.getManager());  // temporaries follow the logits' (per-step) manager, not the long-lived weights'
        return w.broadcast(logits.getShape()).gather(labels.toType(DataType.INT64, false).expandDims(1), 1).squeeze(1);
    }

    private static void requireSameShape(String loss, NDArray student, NDArray teacher) {
        if (!student.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException(loss + ": the compared arrays differ in shape, " + student.getShape() + " and " + teacher.getShape()
                    + "; the student's and the teacher's maps must have the same size");
        }
    }

    private static void requirePositive(double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
    }
}
