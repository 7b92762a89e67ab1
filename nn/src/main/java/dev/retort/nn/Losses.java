package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Losses with the reference's reductions. */
public final class Losses {
    private Losses() {}

    /** Mean squared error over all elements (PyTorch's {@code mse_loss} with reduction 'mean'). */
    public static NDArray mse(NDArray actual, NDArray expected) {
        return actual.sub(expected).square().mean();
    }

    /**
     * Class-weighted cross entropy with PyTorch's weighted-mean reduction:
     * {@code Σ_p w[y_p]·(−log softmax(z_p)[y_p]) / Σ_p w[y_p]} over every pixel of the batch.
     *
     * @param logits  [B, K, H, W]
     * @param labels  [B, H, W] class indices in 0..K−1 (integer type); a class with weight 0 is ignored
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
            NDArray keep = labels.neq(ignoreIndex);
            NDArray safe = labels.toType(DataType.INT64, false).mul(keep.toType(DataType.INT64, false));  // ignored → class 0, weight 0 below
            NDArray nll = nll(logits, safe);
            NDArray w = classWeights(logits, safe, weights).mul(keep.toType(DataType.FLOAT32, false));
            return nll.mul(w).sum().div(w.sum());
        }
        NDArray nll = nll(logits, labels);
        NDArray w = classWeights(logits, labels, weights);
        return nll.mul(w).sum().div(w.sum());
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

    /**
     * Adaptive average pooling of an NCHW map to {@code outH × outW}, PyTorch's bins: bin i of n over length L
     * covers [floor(i·L/n), ceil((i+1)·L/n)). Computed as P_h · X · P_wᵀ (differentiable, exact).
     */
    public static NDArray adaptiveAvgPool(NDArray x, int outH, int outW) {
        long h = x.getShape().get(2), w = x.getShape().get(3);
        NDArray pw = x.getManager().create(poolMatrix((int) w, outW), new ai.djl.ndarray.types.Shape(outW, w));
        NDArray ph = x.getManager().create(poolMatrix((int) h, outH), new ai.djl.ndarray.types.Shape(outH, h));
        NDArray rows = x.matMul(pw.transpose());                          // [B,C,H,outW]
        return ph.matMul(rows);                                           // [outH,H]·[B,C,H,outW] → [B,C,outH,outW]
    }

    private static float[] poolMatrix(int length, int bins) {
        float[] m = new float[bins * length];
        for (int i = 0; i < bins; i++) {
            int start = Math.floorDiv(i * length, bins);
            int end = -Math.floorDiv(-(i + 1) * length, bins);  // ceil
            for (int j = start; j < end; j++) m[i * length + j] = 1f / (end - start);
        }
        return m;
    }
}
