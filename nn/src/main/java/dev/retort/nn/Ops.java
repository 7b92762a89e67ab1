package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * Functional layers with the semantics of the PyTorch reference. Arrays created here belong to the input's manager.
 * Weights are read through {@link CastWeights}: while a thread has cast copies open, layers use those. While a thread
 * has {@linkplain #bf16Products() bfloat16 products} open, linear, 2-D convolution and {@link #matMul} compute in
 * bfloat16 from float32 inputs and give float32 back (mixed-precision training); everything else stays float32.
 */
public final class Ops {
    /** PyTorch's BatchNorm momentum; DJL counts momentum the other way round (1 − torch). */
    public static final float BATCH_NORM_MOMENTUM = 0.1f;
    public static final float BATCH_NORM_EPS = 1e-5f;

    private static final ThreadLocal<Boolean> BF16_PRODUCTS = ThreadLocal.withInitial(() -> false);

    private Ops() {}

    /**
     * Makes linear, 2-D convolution and {@link #matMul} on this thread compute in bfloat16 (float32 in and out,
     * gradients through the casts to the float32 inputs) until the scope is closed; scopes nest. Norms, softmax,
     * activations, resizing and every loss stay float32, as under PyTorch's CPU/CUDA autocast to bfloat16.
     */
    public static Scope bf16Products() {
        boolean previous = BF16_PRODUCTS.get();
        BF16_PRODUCTS.set(true);
        return () -> BF16_PRODUCTS.set(previous);
    }

    /** Whether this thread's products are in bfloat16 now. */
    public static boolean bf16ProductsOpen() {
        return BF16_PRODUCTS.get();
    }

    /** {@code a·b} with {@code NDArray.matMul}'s broadcasting; in bfloat16 while {@link #bf16Products()} is open. */
    public static NDArray matMul(NDArray a, NDArray b) {
        return BF16_PRODUCTS.get() ? BFloat16.matMulF32(a, b) : a.matMul(b);
    }

    /** Softmax along {@code axis}; a bfloat16 array's is computed in float32 and given back in bfloat16 (as under autocast). */
    public static NDArray softmax(NDArray x, int axis) {
        return x.getDataType() == DataType.UNKNOWN ? BFloat16.softmax(x, axis) : x.softmax(axis);
    }

    /** Whether {@code x} holds floating-point numbers, bfloat16 included (which DJL reads as UNKNOWN). */
    public static boolean isFloating(NDArray x) {
        return x.getDataType().isFloating() || BFloat16.is(x);
    }

    /** {@code x} (float32) in {@code like}'s floating type, bfloat16 included. */
    public static NDArray castLike(NDArray x, NDArray like) {
        if (like.getDataType() == DataType.UNKNOWN) return BFloat16.cast(x);
        return x.toType(like.getDataType(), false);
    }

    /** y = x·Wᵀ + b over the last axis; W is [out, in]. {@code bias} may be null. */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (BF16_PRODUCTS.get()) return BFloat16.linearF32(x, CastWeights.use(weight), CastWeights.use(bias));
        return Linear.linear(x, CastWeights.use(weight), CastWeights.use(bias)).singletonOrThrow();
    }

    /** Linear with "prefix.weight" and "prefix.bias" of a parameter set. */
    public static NDArray linear(NDArray x, ParameterSet p, String prefix) {
        return linear(x, p.get(prefix + ".weight"), p.get(prefix + ".bias"));
    }

    /** 2-D convolution, NCHW, weight [out, in/groups, kh, kw]; {@code bias} may be null. */
    public static NDArray conv2d(NDArray x, NDArray weight, NDArray bias, int stride, int padding, int groups) {
        if (BF16_PRODUCTS.get()) return BFloat16.conv2dF32(x, CastWeights.use(weight), CastWeights.use(bias), stride, padding, groups);
        return Conv2d.conv2d(x, CastWeights.use(weight), CastWeights.use(bias), new Shape(stride, stride), new Shape(padding, padding),
                new Shape(1, 1), groups).singletonOrThrow();
    }

    /** 1-D convolution, NCL, weight [out, in/groups, k]; {@code bias} may be null. */
    public static NDArray conv1d(NDArray x, NDArray weight, NDArray bias, int stride, int padding, int groups) {
        return Conv1d.conv1d(x, CastWeights.use(weight), CastWeights.use(bias), new Shape(stride), new Shape(padding), new Shape(1), groups)
                .singletonOrThrow();
    }

    /** LayerNorm over the last axis. */
    public static NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta, float eps) {
        long c = x.getShape().get(x.getShape().dimension() - 1);
        return LayerNorm.layerNorm(x, new Shape(c), CastWeights.use(gamma), CastWeights.use(beta), eps).singletonOrThrow();
    }

    /** LayerNorm with "prefix.weight" and "prefix.bias". */
    public static NDArray layerNorm(NDArray x, ParameterSet p, String prefix, float eps) {
        return layerNorm(x, p.get(prefix + ".weight"), p.get(prefix + ".bias"), eps);
    }

    /**
     * BatchNorm over axis 1 with "prefix.weight", "prefix.bias", "prefix.running_mean", "prefix.running_var":
     * batch statistics and an in-place running-statistics update (momentum 0.1, unbiased variance) in training,
     * running statistics otherwise.
     */
    public static NDArray batchNorm(NDArray x, ParameterSet p, String prefix, boolean training) {
        return BatchNorm.batchNorm(x, CastWeights.use(p.get(prefix + ".running_mean")), CastWeights.use(p.get(prefix + ".running_var")),
                CastWeights.use(p.get(prefix + ".weight")), CastWeights.use(p.get(prefix + ".bias")), 1, 1f - BATCH_NORM_MOMENTUM, BATCH_NORM_EPS, training)
                .singletonOrThrow();
    }

    /** GELU with the exact erf form (PyTorch's default, which SegFormer uses). */
    public static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }

    /** {@link #resizeBilinear(NDArray, long, long, boolean)} with align_corners = false (mmseg's {@code resize}, SegFormer). */
    public static NDArray resizeBilinear(NDArray x, long height, long width) {
        return resizeBilinear(x, height, width, false);
    }

    /**
     * PyTorch's {@code F.interpolate(x, size, mode='bilinear', align_corners)} of an NCHW map, without antialiasing
     * (PyTorch's default), at any pair of sizes. DJL 0.35.1's own interpolation always asks libtorch for an
     * antialiased resize and drops align_corners; antialiasing equals plain bilinear only where no axis shrinks
     * (its triangle filter then keeps width 1), so that case uses it and every other one is the separable
     * {@code A_h · X · A_wᵀ} of {@link ResizeMatrices#bilinear}. A bfloat16 map is resized in float32 and given back in
     * bfloat16 (libtorch 2.7.1's CPU bilinear has no bfloat16 kernel; autocast runs it in float32 as well).
     */
    public static NDArray resizeBilinear(NDArray x, long height, long width, boolean alignCorners) {
        Shape s = x.getShape();
        requireResizable(s, height, width);
        if (s.get(2) == height && s.get(3) == width) return x;
        if (BFloat16.is(x)) return BFloat16.cast(resizeBilinear(BFloat16.toFloat32(x), height, width, alignCorners));
        if (!alignCorners && height >= s.get(2) && width >= s.get(3)) {
            return x.getNDArrayInternal().interpolation(new long[] {height, width}, 1, false);
        }
        int h = Math.toIntExact(s.get(2)), w = Math.toIntExact(s.get(3)), outH = Math.toIntExact(height), outW = Math.toIntExact(width);
        String kind = alignCorners ? "bilinear-aligned" : "bilinear";
        return separable(x, kind, h, outH, () -> ResizeMatrices.bilinear(h, outH, alignCorners), w, outW, () -> ResizeMatrices.bilinear(w, outW, alignCorners));
    }

    /** PyTorch's legacy nearest resize of an NCHW map: source index = min(⌊dst · (in / out)⌋, in − 1), the scale in float. */
    public static NDArray resizeNearest(NDArray x, long height, long width) {
        Shape s = x.getShape();
        requireResizable(s, height, width);
        if (s.get(2) == height && s.get(3) == width) return x;
        return x.getNDArrayInternal().interpolation(new long[] {height, width}, 0, false);
    }

    /**
     * Adaptive average pooling of an NCHW map to {@code outH × outW}, PyTorch's bins: bin i of n over length L
     * covers [floor(i·L/n), ceil((i+1)·L/n)). Computed as P_h · X · P_wᵀ (differentiable, exact).
     */
    public static NDArray adaptiveAvgPool(NDArray x, int outH, int outW) {
        Shape s = x.getShape();
        requireResizable(s, outH, outW);
        int h = Math.toIntExact(s.get(2)), w = Math.toIntExact(s.get(3));
        return separable(x, "adaptive-average", h, outH, () -> ResizeMatrices.adaptiveAverage(h, outH), w, outW, () -> ResizeMatrices.adaptiveAverage(w, outW));
    }

    /**
     * {@code A_h · x · A_wᵀ} for row-major [outH, H] and [outW, W] matrices of one {@code kind}, in {@code x}'s type;
     * the matrices are device constants ({@link DeviceConstants}): made once per device, type and size, not per step.
     */
    private static NDArray separable(NDArray x, String kind, int h, int outH, Supplier<float[]> ah, int w, int outW, Supplier<float[]> aw) {
        NDArray pw = DeviceConstants.matrix(kind, List.of(w, outW), new Shape(outW, w), x, aw);
        NDArray ph = DeviceConstants.matrix(kind, List.of(h, outH), new Shape(outH, h), x, ah);
        NDArray rows = x.matMul(pw.transpose());                          // [B,C,H,outW]
        return ph.matMul(rows);                                           // [outH,H]·[B,C,H,outW] → [B,C,outH,outW]
    }

    private static void requireResizable(Shape s, long height, long width) {
        if (s.dimension() != 4) throw new IllegalArgumentException("resizing needs an NCHW map, not " + s);
        if (height < 1 || width < 1 || s.get(2) < 1 || s.get(3) < 1) {
            throw new IllegalArgumentException("cannot resize " + s.get(2) + "x" + s.get(3) + " to " + height + "x" + width);
        }
    }

    /**
     * The largest score map {@link #attention} computes at once where no backward will need it. glibc's malloc serves a
     * freed block up to 32 MiB again from its heap, while a larger one is a fresh mapping every time, whose pages the
     * kernel faults in and zeroes: at 512×1024 the frozen teacher's (MiT-B2's) stage-1 score maps are 134 MB each, and
     * the faults of its score maps were 2.7 GB of fresh memory per training step.
     */
    public static final long ATTENTION_CHUNK_BYTES = 16L << 20;

    /**
     * Scaled dot-product attention, softmax(q·kᵀ/√d)·v, over queries [B, heads, n, d] and keys and values
     * [B, heads, n_kv, d]: [B, heads, n, d]. The n × n_kv score maps are the largest arrays of a forward, so each is
     * released as soon as the next one exists (what the backward needs stays saved in libtorch).
     *
     * <p>Where no gradient flows (the frozen teacher, evaluation), a score map over {@link #ATTENTION_CHUNK_BYTES} is
     * computed over consecutive runs of query rows within that bound and the outputs are concatenated: every row's
     * softmax is its own, so only the products' blocking differs. Under autograd the map stays whole, so that the
     * student's forward and backward are the same computation at every size: its saved maps live until the backward
     * either way, and chunks of them measured no fewer page faults but a higher peak. Below the bound (every input up
     * to 256×512 for MiT and PVTv2) the computation is the single one it always was.
     */
    public static NDArray attention(NDArray queries, NDArray keys, NDArray values) {
        return attention(queries, keys, values, ATTENTION_CHUNK_BYTES);
    }

    /** {@link #attention(NDArray, NDArray, NDArray)} with score maps of at most {@code maxScoreBytes} at once where no gradient flows. */
    static NDArray attention(NDArray queries, NDArray keys, NDArray values, long maxScoreBytes) {
        int rowAxis = queries.getShape().dimension() - 2;
        NDArray keysT = keys.swapAxes(rowAxis, rowAxis + 1);
        boolean graph = queries.hasGradient() || keys.hasGradient() || values.hasGradient();
        long[] starts = graph ? new long[0] : runStarts(queries.getShape(), keys.getShape().get(rowAxis), bytesPerElement(queries), maxScoreBytes);
        if (starts.length == 0) return attentionOf(queries, keysT, values);
        NDList runs = queries.split(starts, rowAxis);
        NDList outputs = new NDList(runs.size());
        for (NDArray run : runs) {
            outputs.add(attentionOf(run, keysT, values));
            run.close();
        }
        NDArray mixed = NDArrays.concat(outputs, rowAxis);
        outputs.close();
        return mixed;
    }

    /**
     * Where the runs of query rows after the first begin, for queries of {@code shape} [..., n, d] against {@code keys}
     * keys, so that each run's score map holds at most {@code maxScoreBytes} (one row at least): none when the whole
     * map fits.
     */
    static long[] runStarts(Shape shape, long keys, long bytesPerElement, long maxScoreBytes) {
        int rowAxis = shape.dimension() - 2;
        long rows = shape.get(rowAxis);
        long rowBytes = shape.size() / rows / shape.get(rowAxis + 1) * keys * bytesPerElement;
        long perRun = Math.max(1, maxScoreBytes / rowBytes);
        long[] starts = new long[Math.toIntExact((rows - 1) / perRun)];
        for (int i = 0; i < starts.length; i++) starts[i] = (i + 1) * perRun;
        return starts;
    }

    private static NDArray attentionOf(NDArray queries, NDArray keysT, NDArray values) {
        long d = queries.getShape().get(queries.getShape().dimension() - 1);
        NDArray scores = matMul(queries, keysT);
        NDArray scaled = Scalars.mul(scores, Math.pow(d, -0.5));
        scores.close();
        NDArray attn = softmax(scaled, -1);
        scaled.close();
        NDArray mixed = matMul(attn, values);
        attn.close();
        return mixed;
    }

    private static long bytesPerElement(NDArray x) {
        return BFloat16.is(x) ? 2 : x.getDataType().getNumOfBytes();
    }

    /**
     * Stochastic depth on a residual branch [B, …]: in training each sample's branch is dropped with probability
     * {@code rate} and kept ones are scaled by 1/(1 − rate); identity otherwise.
     */
    public static NDArray dropPath(NDArray branch, double rate, boolean training) {
        if (!training || rate <= 0) return branch;
        float keep = (float) (1 - rate);
        long[] maskShape = new long[branch.getShape().dimension()];
        Arrays.fill(maskShape, 1);
        maskShape[0] = branch.getShape().get(0);
        NDArray mask = branch.getManager().randomUniform(0f, 1f, new Shape(maskShape), DataType.FLOAT32);
        mask = Scalars.lt(mask, keep).toType(DataType.FLOAT32, false);
        return Scalars.div(branch.mul(mask), keep);
    }

    /** Channel dropout (Dropout2d) on an NCHW map: whole channels zeroed with probability {@code rate} in training. */
    public static NDArray dropout2d(NDArray x, double rate, boolean training) {
        if (!training || rate <= 0) return x;
        float keep = (float) (1 - rate);
        Shape s = x.getShape();
        NDArray mask = x.getManager().randomUniform(0f, 1f, new Shape(s.get(0), s.get(1), 1, 1), DataType.FLOAT32);
        mask = Scalars.lt(mask, keep).toType(DataType.FLOAT32, false);
        return Scalars.div(x.mul(mask), keep);
    }

    /** [B, C, H, W] map to [B, H·W, C] tokens (row-major). */
    public static NDArray mapToTokens(NDArray map) {
        Shape s = map.getShape();
        return map.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).transpose(0, 2, 1);
    }

    /** [B, H·W, C] tokens to a [B, C, H, W] map. */
    public static NDArray tokensToMap(NDArray tokens, long height, long width) {
        Shape s = tokens.getShape();
        return tokens.transpose(0, 2, 1).reshape(s.get(0), s.get(2), height, width);
    }
}
