package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.CastWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A frozen teacher that runs in another floating-point type: its weights are cast once (and again after a load), its
 * input at every forward, and its taps come back in float32, so the modules and losses see the types they always see.
 * Parameters, loading and saving are the network's own, in float32. Works for any backbone whose layers read their
 * weights through {@code nn}'s {@code Ops}.
 */
final class CastTeacher implements SegmentationNetwork {
    private final SegmentationNetwork net;
    private final DataType type;
    private CastWeights weights;

    CastTeacher(SegmentationNetwork net, DataType type) {
        this.net = net;
        this.type = type;
        this.weights = cast();
    }

    private CastWeights cast() {
        return new CastWeights(net.parameters().values().stream().map(Parameter::getArray).toList(), type);
    }

    DataType type() {
        return type;
    }

    @Override
    public TapValues forward(NDArray image, boolean training) {
        return forward(image, training, null);
    }

    @Override
    public TapValues forward(NDArray image, boolean training, Set<String> wanted) {
        if (training) throw new IllegalStateException("the teacher runs in " + type + " and is frozen: it has no training forward");
        TapValues taps;
        try (CastWeights.Scope open = weights.open()) {
            NDArray cast = CastWeights.to(image, type);
            taps = wanted == null ? net.forward(cast, false) : net.forward(cast, false, wanted);
        }
        Map<String, NDArray> float32 = new LinkedHashMap<>();
        taps.values().forEach((name, value) -> float32.put(name, CastWeights.toFloat32(value)));
        return new TapValues(taps.network(), float32);
    }

    @Override
    public NetworkSpec spec() {
        return net.spec();
    }

    @Override
    public Map<String, Parameter> parameters() {
        return net.parameters();
    }

    @Override
    public List<String> namings() {
        return net.namings();
    }

    @Override
    public LoadReport load(Path file, LoadMode mode) throws IOException {
        LoadReport report = net.load(file, mode);
        weights.close();
        weights = cast();
        return report;
    }

    @Override
    public void save(Path file, String naming) throws IOException {
        net.save(file, naming);
    }

    @Override
    public void save(Path file, String naming, DatasetInfo labels) throws IOException {
        net.save(file, naming, labels);
    }

    @Override
    public void close() {
        weights.close();
        net.close();
    }
}
