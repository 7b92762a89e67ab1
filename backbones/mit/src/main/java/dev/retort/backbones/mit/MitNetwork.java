package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SegFormer: MiT encoder + all-MLP decode head, computed exactly as the reference (spec §1). Parameters carry
 * the reference state-dict names.
 */
final class MitNetwork implements SegmentationNetwork {
    static final float PATCH_NORM_EPS = 1e-5f;   // nn.LayerNorm default in OverlapPatchEmbed and SR attention
    static final float BLOCK_NORM_EPS = 1e-6f;   // blocks and stage norms

    private final MitConfig config;
    private final ParameterSet params;
    private final NetworkSpec spec;
    private final double[] dropPath;

    MitNetwork(MitConfig config, NDManager manager, long seed) {
        this.config = config;
        this.params = new ParameterSet(manager, seed);
        this.dropPath = config.dropPathRates();
        createParameters();
        this.spec = new NetworkSpec(config.variant(), taps(config), config.classes(), params.trainableCount(), config.asMap());
    }

    static TapLayout taps(MitConfig c) {
        List<TapSpec> taps = new ArrayList<>();
        int inChannels = c.inChannels(), inStride = 1;
        for (int s = 0; s < c.stages(); s++) {
            int stride = c.cumulativeStride(s);
            taps.add(new TapSpec(TapNames.inputs(s + 1), inChannels, inStride, TapKind.MAP));
            taps.add(new TapSpec(TapNames.embeds(s + 1), c.embedDims()[s], stride, TapKind.TOKENS));
            taps.add(new TapSpec(TapNames.features(s + 1), c.embedDims()[s], stride, TapKind.MAP));
            inChannels = c.embedDims()[s];
            inStride = stride;
        }
        taps.add(new TapSpec(TapNames.LOGITS, c.classes(), c.cumulativeStride(0), TapKind.MAP));
        return new TapLayout(c.variant(), c.stages(), taps);
    }

    // ---- parameters, in the reference's state-dict order -------------------------------------------------

    private void createParameters() {
        Init encoderLinear = Init.truncatedNormal(0.02, -2, 2);
        int in = config.inChannels();
        for (int s = 0; s < config.stages(); s++) {
            int c = config.embedDims()[s], k = config.patchSizes()[s], st = s + 1;
            String pe = "patch_embed" + st;
            params.add(pe + ".proj.weight", new Shape(c, in, k, k), Init.kaimingNormalFanOut((long) k * k * c));
            params.add(pe + ".proj.bias", new Shape(c), Init.zeros());
            layerNorm(pe + ".norm", c);
            int hidden = c * config.mlpRatios()[s], sr = config.srRatios()[s];
            for (int j = 0; j < config.depths()[s]; j++) {
                String b = "block" + st + "." + j + ".";
                layerNorm(b + "norm1", c);
                linear(b + "attn.q", c, c, encoderLinear);
                linear(b + "attn.kv", 2 * c, c, encoderLinear);
                linear(b + "attn.proj", c, c, encoderLinear);
                if (sr > 1) {
                    params.add(b + "attn.sr.weight", new Shape(c, c, sr, sr), Init.kaimingNormalFanOut((long) sr * sr * c));
                    params.add(b + "attn.sr.bias", new Shape(c), Init.zeros());
                    layerNorm(b + "attn.norm", c);
                }
                layerNorm(b + "norm2", c);
                linear(b + "mlp.fc1", hidden, c, encoderLinear);
                // depthwise: fan_out = 3·3·hidden / groups(hidden) = 9
                params.add(b + "mlp.dwconv.dwconv.weight", new Shape(hidden, 1, 3, 3), Init.kaimingNormalFanOut(9));
                params.add(b + "mlp.dwconv.dwconv.bias", new Shape(hidden), Init.zeros());
                linear(b + "mlp.fc2", c, hidden, encoderLinear);
            }
            layerNorm("norm" + st, c);
            in = c;
        }
        // Decode head: framework-default initialisation (the reference's init hook ran before it was built).
        int e = config.decoderDim();
        for (int s = 0; s < config.stages(); s++) {
            int c = config.embedDims()[s];
            String lc = "linear_c" + (s + 1) + ".proj";
            params.add(lc + ".weight", new Shape(e, c), Init.pytorchDefault(c));
            params.add(lc + ".bias", new Shape(e), Init.pytorchDefault(c));
        }
        int fuseIn = e * config.stages();
        params.add("linear_fuse.conv.weight", new Shape(e, fuseIn, 1, 1), Init.kaimingNormalFanOut(e));
        params.add("linear_fuse.bn.weight", new Shape(e), Init.ones());
        params.add("linear_fuse.bn.bias", new Shape(e), Init.zeros());
        params.buffer("linear_fuse.bn.running_mean", new Shape(e), Init.zeros());
        params.buffer("linear_fuse.bn.running_var", new Shape(e), Init.ones());
        params.add("linear_pred.weight", new Shape(config.classes(), e, 1, 1), Init.pytorchDefault(e));
        params.add("linear_pred.bias", new Shape(config.classes()), Init.pytorchDefault(e));
    }

    private void linear(String name, int out, int in, Init weight) {
        params.add(name + ".weight", new Shape(out, in), weight);
        params.add(name + ".bias", new Shape(out), Init.zeros());
    }

    private void layerNorm(String name, int c) {
        params.add(name + ".weight", new Shape(c), Init.ones());
        params.add(name + ".bias", new Shape(c), Init.zeros());
    }

    // ---- forward --------------------------------------------------------------------------------------------

    @Override
    public TapValues forward(NDArray image, boolean training) {
        checkInput(image);
        Map<String, NDArray> taps = new LinkedHashMap<>();
        NDArray x = image;
        List<NDArray> features = new ArrayList<>();
        int block = 0;
        for (int s = 0; s < config.stages(); s++) {
            int st = s + 1, k = config.patchSizes()[s];
            taps.put(TapNames.inputs(st), x);
            NDArray map = Ops.conv2d(x, params.get("patch_embed" + st + ".proj.weight"), params.get("patch_embed" + st + ".proj.bias"),
                    config.strides()[s], k / 2, 1);
            long h = map.getShape().get(2), w = map.getShape().get(3);
            NDArray t = Ops.layerNorm(Ops.mapToTokens(map), params, "patch_embed" + st + ".norm", PATCH_NORM_EPS);
            taps.put(TapNames.embeds(st), t);
            for (int j = 0; j < config.depths()[s]; j++, block++) {
                String b = "block" + st + "." + j + ".";
                t = t.add(Ops.dropPath(attention(Ops.layerNorm(t, params, b + "norm1", BLOCK_NORM_EPS), b, s, h, w), dropPath[block], training));
                t = t.add(Ops.dropPath(mixFfn(Ops.layerNorm(t, params, b + "norm2", BLOCK_NORM_EPS), b, h, w), dropPath[block], training));
            }
            t = Ops.layerNorm(t, params, "norm" + st, BLOCK_NORM_EPS);
            x = Ops.tokensToMap(t, h, w);
            taps.put(TapNames.features(st), x);
            features.add(x);
        }
        taps.put(TapNames.LOGITS, head(features, training));
        return new TapValues(config.variant(), taps);
    }

    /** Efficient self-attention with spatial reduction of keys and values (spec §1.1). */
    private NDArray attention(NDArray x, String b, int s, long h, long w) {
        Shape shape = x.getShape();
        long batch = shape.get(0), n = shape.get(1), c = shape.get(2);
        int heads = config.heads()[s], sr = config.srRatios()[s];
        long d = c / heads;
        NDArray q = Ops.linear(x, params, b + "attn.q").reshape(batch, n, heads, d).transpose(0, 2, 1, 3);
        NDArray kvIn = x;
        if (sr > 1) {
            NDArray reduced = Ops.conv2d(Ops.tokensToMap(x, h, w), params.get(b + "attn.sr.weight"), params.get(b + "attn.sr.bias"), sr, 0, 1);
            kvIn = Ops.layerNorm(Ops.mapToTokens(reduced), params, b + "attn.norm", PATCH_NORM_EPS);
        }
        // kv output channels are [k (heads × d) | v (heads × d)]
        NDArray kv = Ops.linear(kvIn, params, b + "attn.kv").reshape(batch, -1, 2, heads, d).transpose(2, 0, 3, 1, 4);
        NDArray k = kv.get(0), v = kv.get(1);
        NDArray attn = Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), Math.pow(d, -0.5)).softmax(-1);
        NDArray out = attn.matMul(v).transpose(0, 2, 1, 3).reshape(batch, n, c);
        return Ops.linear(out, params, b + "attn.proj");
    }

    /** Mix-FFN: Linear → depthwise 3×3 conv on the token map → exact GELU → Linear. */
    private NDArray mixFfn(NDArray x, String b, long h, long w) {
        NDArray hidden = Ops.linear(x, params, b + "mlp.fc1");
        long channels = hidden.getShape().get(2);
        NDArray map = Ops.conv2d(Ops.tokensToMap(hidden, h, w), params.get(b + "mlp.dwconv.dwconv.weight"),
                params.get(b + "mlp.dwconv.dwconv.bias"), 1, 1, (int) channels);
        return Ops.linear(Ops.gelu(Ops.mapToTokens(map)), params, b + "mlp.fc2");
    }

    /** All-MLP head: per-stage Linear to E, bilinear up to stage 1, concat deepest first, fuse, classify. */
    private NDArray head(List<NDArray> features, boolean training) {
        NDArray first = features.get(0);
        long h1 = first.getShape().get(2), w1 = first.getShape().get(3);
        NDList branches = new NDList();
        for (int s = features.size() - 1; s >= 0; s--) {
            NDArray f = features.get(s);
            long h = f.getShape().get(2), w = f.getShape().get(3);
            NDArray e = Ops.tokensToMap(Ops.linear(Ops.mapToTokens(f), params, "linear_c" + (s + 1) + ".proj"), h, w);
            branches.add(Ops.resizeBilinear(e, h1, w1));
        }
        NDArray fused = Ops.conv2d(NDArrays.concat(branches, 1), params.get("linear_fuse.conv.weight"), null, 1, 0, 1);
        fused = ai.djl.nn.Activation.relu(Ops.batchNorm(fused, params, "linear_fuse.bn", training));
        fused = Ops.dropout2d(fused, config.headDropout(), training);
        return Ops.conv2d(fused, params.get("linear_pred.weight"), params.get("linear_pred.bias"), 1, 0, 1);
    }

    private void checkInput(NDArray image) {
        Shape s = image.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException(config.variant() + " expects an image batch [B, " + config.inChannels()
                    + ", H, W], got shape " + s);
        }
        if (s.get(1) != config.inChannels()) {
            throw new IllegalArgumentException(config.variant() + " expects " + config.inChannels() + " input channels, got "
                    + s.get(1) + " (shape " + s + ")");
        }
        for (int axis = 2; axis <= 3; axis++) {
            if (config.extent(config.stages() - 1, s.get(axis)) < 1) {
                throw new IllegalArgumentException(config.variant() + ": input " + s + " is too small for "
                        + config.stages() + " stages of strides " + java.util.Arrays.toString(config.strides()));
            }
        }
        for (int st = 0; st < config.stages(); st++) {
            int sr = config.srRatios()[st];
            long h = config.extent(st, s.get(2)), w = config.extent(st, s.get(3));
            if (sr > 1 && (h < sr || w < sr)) {
                throw new IllegalArgumentException(config.variant() + ": input " + s + " gives a " + h + "x" + w + " map at stage " + (st + 1)
                        + ", smaller than its attention reduction ratio " + sr + "; use at least " + (config.cumulativeStride(st) * sr) + " pixels per side");
            }
        }
        if (!image.getDataType().isFloating()) {
            throw new IllegalArgumentException(config.variant() + " expects a floating-point image, got " + image.getDataType());
        }
    }

    // ---- SegmentationNetwork ----------------------------------------------------------------------------------

    @Override
    public NetworkSpec spec() {
        return spec;
    }

    MitConfig config() {
        return config;
    }

    ParameterSet parameterSet() {
        return params;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public List<String> namings() {
        return List.of(MitWeights.REFERENCE, MitWeights.HF);
    }

    @Override
    public LoadReport load(Path file, LoadMode mode) throws IOException {
        return MitWeights.load(this, file, mode);
    }

    @Override
    public void save(Path file, String naming) throws IOException {
        MitWeights.save(this, file, naming, null);
    }

    @Override
    public void save(Path file, String naming, DatasetInfo labels) throws IOException {
        MitWeights.save(this, file, naming, labels);
    }

    @Override
    public void close() {
        params.close();
    }
}
