package dev.retort.backbones.mit;

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

/** MiT-B0 … B5 encoders with the SegFormer all-MLP head, as the {@code mit} backbone family. */
@Component(service = Backbone.class, configurationPid = MitBackbone.PID, property = {Backbone.FAMILY_PROPERTY + "=mit",
        Backbone.VARIANTS_PROPERTY + "=mit-b0", Backbone.VARIANTS_PROPERTY + "=mit-b1", Backbone.VARIANTS_PROPERTY + "=mit-b2",
        Backbone.VARIANTS_PROPERTY + "=mit-b3", Backbone.VARIANTS_PROPERTY + "=mit-b4", Backbone.VARIANTS_PROPERTY + "=mit-b5"})
@Designate(ocd = MitBackbone.Config.class)
public class MitBackbone implements Backbone {
    static final String PID = "dev.retort.backbones.mit";

    @ObjectClassDefinition(name = "Retort MiT / SegFormer backbones",
            description = "Defaults for every MiT network built; a run's own network configuration overrides them")
    public @interface Config {
        @AttributeDefinition(description = "Output classes of the head (the reference: 19 Cityscapes classes + 1 ignore class)")
        int classes() default 20;

        @AttributeDefinition(description = "Stochastic depth rate of the last block (linearly spaced from 0)")
        double dropPathRate() default 0.1;

        @AttributeDefinition(description = "Dropout2d rate before the classifier")
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
        MitConfig.of("mit-b0", d);  // validates before anything is replaced
        defaults = Map.copyOf(d);
    }

    @Override
    public String name() {
        return "mit";
    }

    @Override
    public List<String> variants() {
        return List.copyOf(MitConfig.PRESETS.keySet());
    }

    MitConfig config(String variant, Map<String, ?> config) {
        Map<String, Object> merged = new HashMap<>(defaults);
        if (config != null) merged.putAll(config);
        return MitConfig.of(variant, merged);
    }

    @Override
    public NetworkSpec describe(String variant, Map<String, ?> config) {
        MitConfig c = config(variant, config);
        SegFormer blocks = new SegFormer(c);  // declared, not created: no arrays
        return new NetworkSpec(variant, blocks.taps(), c.classes(), blocks.parameterCount(), c.asMap());
    }

    /** By mmcv's conventions (see {@link ModelCost}); at 3×512×1024 with 20 classes B0 has 3.72 M / 13.67 G, B2 27.36 M / 113.84 G. */
    @Override
    public ModelCost cost(String variant, Map<String, ?> config, int height, int width) {
        return new SegFormer(config(variant, config)).cost(height, width);
    }

    @Override
    public SegmentationNetwork build(String variant, Map<String, ?> config, NDManager manager, long seed) {
        return new MitNetwork(config(variant, config), manager, seed);
    }
}
