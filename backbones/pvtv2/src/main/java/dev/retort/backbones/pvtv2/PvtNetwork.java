package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.backbones.support.ConfiguredBackbone;
import dev.retort.nn.ParameterSet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A built PVTv2 + Semantic FPN: the block tree of its configuration and its parameters, by reference name. */
final class PvtNetwork implements SegmentationNetwork {
    private final PvtModel model;
    private final ParameterSet params;
    private final NetworkSpec spec;

    PvtNetwork(PvtConfig config, NDManager manager, long seed) {
        this.model = new PvtModel(config);
        this.params = new ParameterSet(manager, seed);
        model.declare(params);
        this.spec = ConfiguredBackbone.spec(config, model, params.trainableCount());
    }

    @Override
    public TapValues forward(NDArray image, boolean training) {
        return new TapValues(spec.variant(), model.forward(params, image, training));
    }

    /** Stops before the neck and the head when the logits are not asked for (the encoder gives every other tap). */
    @Override
    public TapValues forward(NDArray image, boolean training, Set<String> taps) {
        return new TapValues(spec.variant(), model.forward(params, image, training, taps.contains(TapNames.LOGITS)));
    }

    @Override
    public NetworkSpec spec() {
        return spec;
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
        return List.of(PvtWeights.REFERENCE);
    }

    @Override
    public LoadReport load(Path file, LoadMode mode) throws IOException {
        return PvtWeights.load(this, file, mode);
    }

    @Override
    public void save(Path file, String naming) throws IOException {
        PvtWeights.save(this, file, naming);
    }

    @Override
    public void close() {
        params.close();
    }
}
