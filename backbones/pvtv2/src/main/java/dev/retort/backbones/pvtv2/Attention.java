package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.DeviceConstants;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.List;

/**
 * PVTv2's spatial-reduction attention: queries from every token, keys and values from a reduced map. With
 * {@code sr_ratio} r > 1 the map is reduced by an r×r stride-r conv and LayerNorm (as MiT); the linear variant
 * (PVTv2-Li) instead pools it to 7×7 (adaptive average), then a 1×1 conv, LayerNorm and GELU. Stage 4 (r = 1) of
 * the standard variant attends to every token.
 */
record Attention(String prefix, int dim, int heads, int srRatio, boolean linear, Linear q, Linear kv, Linear proj, Conv sr, Norm norm)
        implements Block {

    Attention(String prefix, int dim, int heads, int srRatio, boolean linear) {
        this(prefix, dim, heads, srRatio, linear, new Linear(prefix + ".q", dim, dim), new Linear(prefix + ".kv", dim, 2 * dim),
                new Linear(prefix + ".proj", dim, dim),
                linear ? Conv.kaiming(prefix + ".sr", dim, dim, 1, 1, 0, 1)
                        : srRatio > 1 ? Conv.kaiming(prefix + ".sr", dim, dim, srRatio, srRatio, 0, 1) : null,
                linear || srRatio > 1 ? new Norm(prefix + ".norm", dim, Norm.TORCH_EPS) : null);
    }

    private boolean reduces() {
        return sr != null;
    }

    @Override
    public void declare(ParameterSet p) {
        // the reference's registration order: q, kv, proj, then sr and norm
        q.declare(p);
        kv.declare(p);
        proj.declare(p);
        if (reduces()) {
            sr.declare(p);
            norm.declare(p);
        }
    }

    NDArray forward(ParameterSet p, NDArray x, long h, long w) {
        Shape shape = x.getShape();
        long batch = shape.get(0), n = shape.get(1), c = shape.get(2), d = c / heads;
        NDArray query = q.forward(p, x).reshape(batch, n, heads, d).transpose(0, 2, 1, 3);
        NDArray source = x;
        if (linear) {
            NDArray pooled = adaptiveAveragePool(Ops.tokensToMap(x, h, w), PvtConfig.LINEAR_POOL);
            source = Ops.gelu(norm.forward(p, Ops.mapToTokens(sr.forward(p, pooled))));
        } else if (reduces()) {
            source = norm.forward(p, Ops.mapToTokens(sr.forward(p, Ops.tokensToMap(x, h, w))));
        }
        // kv output channels are [k (heads × d) | v (heads × d)]
        NDArray keysValues = kv.forward(p, source).reshape(batch, -1, 2, heads, d).transpose(2, 0, 3, 1, 4);
        NDArray k = keysValues.get(0), v = keysValues.get(1);
        NDArray mixed = Ops.attention(query, k, v);
        return proj.forward(p, mixed.transpose(0, 2, 1, 3).reshape(batch, n, c));
    }

    /** Tokens that keys and values come from, for an h × w map. */
    long reducedTokens(long h, long w) {
        if (linear) return (long) PvtConfig.LINEAR_POOL * PvtConfig.LINEAR_POOL;
        if (!reduces()) return h * w;
        return sr.extent(h) * sr.extent(w);
    }

    void cost(Tally t, long h, long w) {
        long n = h * w, reduced = reducedTokens(h, w);
        q.cost(t, n);
        if (linear) t.pool(n * dim);
        if (reduces()) {
            sr.cost(t, reduced);
            norm.cost(t, reduced);
        }
        kv.cost(t, reduced);
        t.attention(n, reduced, dim);
        proj.cost(t, n);
    }

    /**
     * {@code nn.AdaptiveAvgPool2d(size)} on an NCHW map: output cell i averages input rows floor(i·H/size) …
     * ceil((i+1)·H/size) − 1 (likewise columns). Written as two products with averaging matrices, R·X·Cᵀ, so that it
     * is differentiable with DJL's operators.
     */
    static NDArray adaptiveAveragePool(NDArray map, int size) {
        long h = map.getShape().get(2), w = map.getShape().get(3);
        // device constants, made once per size (never closed here: the backward of the products reads them)
        NDArray rows = DeviceConstants.matrix("pvt-adaptive-average", List.of((int) h, size), new Shape(size, h), map, () -> averaging(h, size));
        NDArray cols = DeviceConstants.matrix("pvt-adaptive-average", List.of((int) w, size), new Shape(size, w), map, () -> averaging(w, size));
        return rows.matMul(map.matMul(cols.transpose()));  // [size, h] · [B, C, h, w] · [w, size]
    }

    /** [size × n] row-stochastic matrix: row i averages the inputs of adaptive pooling cell i. */
    static float[] averaging(long n, int size) {
        float[] a = new float[Math.toIntExact(size * n)];
        for (int i = 0; i < size; i++) {
            long start = Math.floorDiv(i * n, size), end = -Math.floorDiv(-(i + 1) * n, size);
            for (long j = start; j < end; j++) a[Math.toIntExact(i * n + j)] = 1f / (end - start);
        }
        return a;
    }
}
