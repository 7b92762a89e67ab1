package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.backbones.support.ConfiguredBackbone;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SegFormer: MiT encoder + all-MLP decode head, computed exactly as the reference (spec §1) by the blocks of
 * {@link SegFormer}. Parameters carry the reference state-dict names.
 */
final class MitNetwork implements SegmentationNetwork {
    private final MitConfig config;
    private final SegFormer blocks;
    private final ParameterSet params;
    private final NetworkSpec spec;

    MitNetwork(MitConfig config, NDManager manager, long seed) {
        this.config = config;
        this.blocks = new SegFormer(config);
        this.params = new ParameterSet(manager, seed);
        blocks.create(params, "");
        this.spec = ConfiguredBackbone.spec(config, blocks, params.trainableCount());
    }

    @Override
    public TapValues forward(NDArray image, boolean training) {
        checkInput(image);
        return new TapValues(config.variant(), blocks.forward(image, training));
    }

    /** Stops before the decode head when the logits are not asked for (the encoder gives every other tap). */
    @Override
    public TapValues forward(NDArray image, boolean training, Set<String> taps) {
        checkInput(image);
        return new TapValues(config.variant(), blocks.forward(image, training, taps.contains(TapNames.LOGITS)));
    }

    private void checkInput(NDArray image) {
        Shape s = image.getShape();
        if (s.dimension() != 4) {
            throw new RetortConfigException(config.variant() + " expects an image batch [B, " + config.inChannels()
                    + ", H, W], got shape " + s);
        }
        if (s.get(1) != config.inChannels()) {
            throw new RetortConfigException(config.variant() + " expects " + config.inChannels() + " input channels, got "
                    + s.get(1) + " (shape " + s + ")");
        }
        for (int axis = 2; axis <= 3; axis++) {
            if (blocks.extent(config.stages() - 1, s.get(axis)) < 1) {
                throw new RetortConfigException(config.variant() + ": input " + s + " is too small for "
                        + config.stages() + " stages of strides " + Arrays.toString(config.strides()));
            }
        }
        List<Stage> stages = blocks.stages();
        for (int st = 0; st < stages.size(); st++) {
            int sr = stages.get(st).reduction();
            long h = blocks.extent(st, s.get(2)), w = blocks.extent(st, s.get(3));
            if (sr > 1 && (h < sr || w < sr)) {
                throw new RetortConfigException(config.variant() + ": input " + s + " gives a " + h + "x" + w + " map at stage " + (st + 1)
                        + ", smaller than its attention reduction ratio " + sr + "; use at least " + (stages.get(st).stride() * sr)
                        + " pixels per side");
            }
        }
        if (!Ops.isFloating(image)) {
            throw new RetortConfigException(config.variant() + " expects a floating-point image, got " + image.getDataType());
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
