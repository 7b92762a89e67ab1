package dev.retort.backbones.pvtv2;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** PVTv2-B0 … B5 and B2-Li with the Semantic FPN neck and head, as the {@code pvtv2} backbone family. */
@Component(service = Backbone.class, configurationPid = PvtBackbone.PID, property = {Backbone.FAMILY_PROPERTY + "=pvtv2",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b0", Backbone.VARIANTS_PROPERTY + "=pvtv2-b1", Backbone.VARIANTS_PROPERTY + "=pvtv2-b2",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b2-li", Backbone.VARIANTS_PROPERTY + "=pvtv2-b3", Backbone.VARIANTS_PROPERTY + "=pvtv2-b4",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b5"})
@Designate(ocd = PvtBackbone.Config.class)
public class PvtBackbone implements Backbone {
    static final String PID = "dev.retort.backbones.pvtv2";

    @ObjectClassDefinition(name = "Retort PVTv2 / Semantic FPN backbones",
            description = "Defaults for every PVTv2 network built; a run's own network configuration overrides them")
    public @interface Config {
        @AttributeDefinition(description = "Output classes of the head (the reference: 19 Cityscapes classes + 1 ignore class)")
        int classes() default 20;

        @AttributeDefinition(description = "Stochastic depth rate of the last block (linearly spaced from 0)")
        double dropPathRate() default 0.1;

        @AttributeDefinition(description = "Dropout2d rate before conv_seg")
        double headDropout() default 0.1;
    }

    // DJL is touched only once the launcher's engine exists.
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private volatile Map<String, Object> defaults = Map.of();

    @Activate
    @Modified
    void configure(Config config) {
        Map<String, Object> d = new HashMap<>();
        d.put("num_classes", config.classes());
        d.put("drop_path_rate", config.dropPathRate());
        d.put("head_dropout", config.headDropout());
        PvtConfig.of("pvtv2-b0", d);  // validates before anything is replaced
        defaults = Map.copyOf(d);
    }

    @Override
    public String name() {
        return "pvtv2";
    }

    @Override
    public List<String> variants() {
        return List.copyOf(PvtConfig.PRESETS.keySet());
    }

    PvtConfig config(String variant, Map<String, ?> config) {
        Map<String, Object> merged = new HashMap<>(defaults);
        if (config != null) merged.putAll(config);
        return PvtConfig.of(variant, merged);
    }

    @Override
    public NetworkSpec describe(String variant, Map<String, ?> config) {
        PvtConfig c = config(variant, config);
        PvtModel model = new PvtModel(c);
        return new NetworkSpec(variant, model.taps(), c.classes(), model.parameters(), c.asMap());
    }

    @Override
    public ModelCost cost(String variant, Map<String, ?> config, int height, int width) {
        return new PvtModel(config(variant, config)).cost(height, width);
    }

    @Override
    public SegmentationNetwork build(String variant, Map<String, ?> config, NDManager manager, long seed) {
        return new PvtNetwork(config(variant, config), manager, seed);
    }
}
