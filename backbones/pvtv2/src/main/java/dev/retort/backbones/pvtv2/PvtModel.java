package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.backbones.support.DeclaredModel;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The block tree of one configuration: the encoder stages ({@code backbone.*}), the FPN neck ({@code neck.*}) and the
 * FPN head ({@code head.*}), as TransKD's {@code PVTv2(backbone, neck, decode_head)}. It knows no tensors: a
 * {@link ParameterSet} is passed in to declare parameters and to run the forward pass.
 */
final class PvtModel implements DeclaredModel {
    static final String BACKBONE = "backbone";
    static final String NECK = "neck";
    static final String HEAD = "head";

    private final PvtConfig config;
    private final List<EncoderStage> stages;
    private final Fpn neck;
    private final FpnHead head;

    PvtModel(PvtConfig config) {
        this.config = config;
        List<EncoderStage> s = new ArrayList<>();
        double[] dropPath = config.dropPathRates();
        int in = config.inChannels(), block = 0;
        for (int i = 0; i < config.stages(); i++) {
            int n = i + 1, dim = config.embedDims()[i];
            PatchEmbed embed = new PatchEmbed(BACKBONE + ".patch_embed" + n, in, dim, config.patchSize(i), config.stride(i));
            List<EncoderBlock> blocks = new ArrayList<>();
            for (int j = 0; j < config.depths()[i]; j++, block++) {
                blocks.add(new EncoderBlock(BACKBONE + ".block" + n + "." + j, dim, config.heads()[i], config.srRatios()[i],
                        dim * config.mlpRatios()[i], config.linear(), dropPath[block]));
            }
            s.add(new EncoderStage(BACKBONE, n, embed, blocks, new Norm(BACKBONE + ".norm" + n, dim, Norm.BLOCK_EPS)));
            in = dim;
        }
        this.stages = List.copyOf(s);
        this.neck = Fpn.of(NECK, config.embedDims(), config.neckChannels());
        this.head = FpnHead.of(HEAD, config.stages(), config.neckChannels(), config.headChannels(), config.classes(), config.headDropout());
    }

    PvtConfig config() {
        return config;
    }

    /** Every parameter, in the reference state dict's order. */
    void declare(ParameterSet p) {
        stages.forEach(s -> s.declare(p));
        neck.declare(p);
        head.declare(p);
    }

    @Override
    public TapLayout taps() {
        List<TapSpec> taps = new ArrayList<>();
        int inChannels = config.inChannels(), inStride = 1;
        for (int s = 0; s < config.stages(); s++) {
            int stride = config.cumulativeStride(s), c = config.embedDims()[s];
            taps.add(new TapSpec(TapNames.inputs(s + 1), inChannels, inStride, TapKind.MAP));
            taps.add(new TapSpec(TapNames.embeds(s + 1), c, stride, TapKind.TOKENS));
            taps.add(new TapSpec(TapNames.features(s + 1), c, stride, TapKind.MAP));
            inChannels = c;
            inStride = stride;
        }
        taps.add(new TapSpec(TapNames.LOGITS, config.classes(), config.cumulativeStride(0), TapKind.MAP));
        return new TapLayout(config.variant(), config.stages(), taps);
    }

    /** Every tap of one forward pass, in {@link #taps()} order. */
    Map<String, NDArray> forward(ParameterSet p, NDArray image, boolean training) {
        return forward(p, image, training, true);
    }

    /** The encoder's taps, and the logits when {@code logits} (else neither the neck nor the head runs). */
    Map<String, NDArray> forward(ParameterSet p, NDArray image, boolean training, boolean logits) {
        checkInput(image.getShape());
        if (!Ops.isFloating(image)) {
            throw new RetortConfigException(config.variant() + " expects a floating-point image, got " + image.getDataType());
        }
        Map<String, NDArray> taps = new LinkedHashMap<>();
        List<NDArray> features = new ArrayList<>();
        NDArray x = image;
        for (EncoderStage s : stages) {
            x = s.forward(p, x, training, taps);
            features.add(x);
        }
        if (!logits) return taps;
        try (ArrayScope scope = ArrayScope.over(features)) {  // the neck's maps are released once the head has the logits
            taps.put(TapNames.LOGITS, scope.keep(head.forward(p, neck.forward(p, features), training)));
        }
        return taps;
    }

    /** Per part ({@code stage 1} … {@code neck}, {@code head}): parameters and MACs at an input of {@code height × width}. */
    Map<String, Tally> tallies(long height, long width) {
        checkSize(height, width);
        Map<String, Tally> parts = new LinkedHashMap<>();
        long[] positions = new long[stages.size()];
        for (int s = 0; s < stages.size(); s++) {
            long h = config.extent(s, height), w = config.extent(s, width);
            positions[s] = h * w;
            Tally t = new Tally();
            stages.get(s).cost(t, h, w);
            parts.put("stage " + (s + 1), t);
        }
        Tally n = new Tally(), hd = new Tally();
        neck.cost(n, positions);
        head.cost(hd, positions);
        parts.put("neck", n);
        parts.put("head", hd);
        return parts;
    }

    @Override
    public ModelCost cost(int height, int width) {
        return cost(height, width, true);
    }

    /** Without the neck and the head (and the logits' shape) when the taps asked for do not include the logits. */
    @Override
    public ModelCost cost(int height, int width, Set<String> taps) {
        return cost(height, width, taps.contains(TapNames.LOGITS));
    }

    private ModelCost cost(int height, int width, boolean logits) {
        List<ModelCost.Part> parts = new ArrayList<>();
        Tally all = new Tally();
        tallies(height, width).forEach((name, t) -> {
            if (!logits && (name.equals(NECK) || name.equals(HEAD))) return;
            parts.add(new ModelCost.Part(name, t.params, t.macs));
            all.add(t);
        });
        Map<String, long[]> shapes = new LinkedHashMap<>();
        long inC = config.inChannels(), inH = height, inW = width;
        for (int s = 0; s < config.stages(); s++) {
            long c = config.embedDims()[s], h = config.extent(s, height), w = config.extent(s, width);
            shapes.put(TapNames.inputs(s + 1), new long[] {1, inC, inH, inW});
            shapes.put(TapNames.embeds(s + 1), new long[] {1, h * w, c});
            shapes.put(TapNames.features(s + 1), new long[] {1, c, h, w});
            inC = c;
            inH = h;
            inW = w;
        }
        if (logits) shapes.put(TapNames.LOGITS, new long[] {1, config.classes(), config.extent(0, height), config.extent(0, width)});
        return new ModelCost(config.variant(), height, width, parts, shapes, all.attentionMacs);
    }

    /** Trainable parameters: they do not depend on the input size, so any size every stage accepts gives them. */
    @Override
    public long parameterCount() {
        long side = (long) config.cumulativeStride(config.stages() - 1) * Arrays.stream(config.srRatios()).max().orElse(1);
        return tallies(side, side).values().stream().mapToLong(t -> t.params).sum();
    }

    private void checkInput(Shape s) {
        String v = config.variant();
        if (s.dimension() != 4) {
            throw new RetortConfigException(v + " expects an image batch [B, " + config.inChannels() + ", H, W], got shape " + s);
        }
        if (s.get(1) != config.inChannels()) {
            throw new RetortConfigException(v + " expects " + config.inChannels() + " input channels, got " + s.get(1) + " (shape " + s + ")");
        }
        checkSize(s.get(2), s.get(3));
    }

    private void checkSize(long height, long width) {
        String v = config.variant();
        for (long side : new long[] {height, width}) {
            if (side < 1 || config.extent(config.stages() - 1, side) < 1) {
                throw new RetortConfigException(v + ": input " + height + "x" + width + " is too small for " + config.stages()
                        + " stages (strides 4, 2, 2, …)");
            }
        }
        if (config.linear()) return;  // pooling to 7×7 takes any map
        for (int s = 0; s < config.stages(); s++) {
            int sr = config.srRatios()[s];
            long h = config.extent(s, height), w = config.extent(s, width);
            if (sr > 1 && (h < sr || w < sr)) {
                throw new RetortConfigException(v + ": input " + height + "x" + width + " gives a " + h + "x" + w + " map at stage " + (s + 1)
                        + ", smaller than its attention reduction ratio " + sr + "; use at least " + (config.cumulativeStride(s) * sr)
                        + " pixels per side");
            }
        }
    }
}
