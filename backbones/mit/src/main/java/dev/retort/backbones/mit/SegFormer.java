package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.backbones.support.DeclaredModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole network as blocks: the MiT encoder's stages, then the all-MLP head (spec §1). The architecture is
 * written here and in the blocks only; parameters, forward, taps and cost all follow from it.
 */
final class SegFormer extends Block implements DeclaredModel {
    private final MitConfig config;
    private final List<Stage> stages = new ArrayList<>();
    private final AllMlpHead head;

    SegFormer(MitConfig c) {
        this.config = c;
        double[] dropPath = c.dropPathRates();  // spaced over the whole encoder
        int in = c.inChannels(), inStride = 1, firstBlock = 0;
        for (int s = 0; s < c.stages(); s++) {
            double[] rates = Arrays.copyOfRange(dropPath, firstBlock, firstBlock + c.depths()[s]);
            Stage stage = child("", new Stage(c, s, in, inStride, rates));
            stages.add(stage);
            in = stage.dim();
            inStride = stage.stride();
            firstBlock += c.depths()[s];
        }
        head = child("", new AllMlpHead(c.embedDims(), c.decoderDim(), c.classes(), c.headDropout()));
    }

    /** Every tap by name: stage inputs, embeddings and features, then the logits. */
    Map<String, NDArray> forward(NDArray image, boolean training) {
        return forward(image, training, true);
    }

    /** The encoder's taps, and the logits when {@code logits} (else the decode head is not run). */
    Map<String, NDArray> forward(NDArray image, boolean training, boolean logits) {
        Map<String, NDArray> taps = new LinkedHashMap<>();
        List<NDArray> features = new ArrayList<>();
        NDArray x = image;
        for (Stage stage : stages) {
            x = stage.forward(x, taps, training);
            features.add(x);
        }
        if (logits) taps.put(TapNames.LOGITS, head.forward(features, training));
        return taps;
    }

    @Override
    public TapLayout taps() {
        List<TapSpec> taps = new ArrayList<>();
        for (Stage stage : stages) taps.addAll(stage.taps());
        taps.add(new TapSpec(TapNames.LOGITS, config.classes(), stages.get(0).stride(), TapKind.MAP));
        return new TapLayout(config.variant(), stages.size(), taps);
    }

    /** Map extent after stage {@code s} (0-based) for an input extent. */
    long extent(int s, long input) {
        long n = input;
        for (int i = 0; i <= s; i++) n = stages.get(i).outputSize(n);
        return n;
    }

    List<Stage> stages() {
        return stages;
    }

    /** Parameters and multiply-accumulates per stage and of the head, and the taps' shapes, at one input size. */
    @Override
    public ModelCost cost(int height, int width) {
        return cost(height, width, true);
    }

    /** Without the head (and the logits' shape) when the taps asked for do not include the logits. */
    @Override
    public ModelCost cost(int height, int width, Set<String> taps) {
        return cost(height, width, taps.contains(TapNames.LOGITS));
    }

    private ModelCost cost(int height, int width, boolean logits) {
        int last = stages.size() - 1;
        if (extent(last, height) < 1 || extent(last, width) < 1) {
            throw new RetortConfigException(config.variant() + ": input " + height + "x" + width + " is too small");
        }
        List<ModelCost.Part> parts = new ArrayList<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        List<long[]> sizes = new ArrayList<>();
        long h = height, w = width, attention = 0;
        for (Stage stage : stages) {
            stage.tapShapes(h, w, shapes);
            parts.add(new ModelCost.Part("stage " + (sizes.size() + 1), stage.parameterCount(), stage.macs(h, w)));
            attention += stage.attentionMacs(h, w);
            h = stage.outputSize(h);
            w = stage.outputSize(w);
            sizes.add(new long[] {h, w});
        }
        if (logits) {
            parts.add(new ModelCost.Part("head", head.parameterCount(), head.macs(sizes)));
            shapes.put(TapNames.LOGITS, new long[] {1, config.classes(), sizes.get(0)[0], sizes.get(0)[1]});
        }
        return new ModelCost(config.variant(), height, width, parts, shapes, attention);
    }
}
