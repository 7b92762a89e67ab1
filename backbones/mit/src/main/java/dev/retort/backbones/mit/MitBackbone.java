package dev.retort.backbones.mit;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.support.ConfiguredBackbone;
import dev.retort.backbones.support.DeclaredModel;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** MiT-B0 … B5 encoders with the SegFormer all-MLP head, as the {@code mit} backbone family. */
@Component(service = Backbone.class, configurationPid = MitBackbone.PID, property = {Backbone.FAMILY_PROPERTY + "=mit",
        Backbone.VARIANTS_PROPERTY + "=mit-b0", Backbone.VARIANTS_PROPERTY + "=mit-b1", Backbone.VARIANTS_PROPERTY + "=mit-b2",
        Backbone.VARIANTS_PROPERTY + "=mit-b3", Backbone.VARIANTS_PROPERTY + "=mit-b4", Backbone.VARIANTS_PROPERTY + "=mit-b5"})
@Designate(ocd = MitBackbone.Config.class)
public class MitBackbone extends ConfiguredBackbone<MitConfig> {
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

    public MitBackbone() {
        super("mit", MitConfig.PRESETS.keySet(), MitConfig::of, Config.class);
    }

    /** Costs by mmcv's conventions (see {@link ModelCost}); at 3×512×1024 with 20 classes B0 has 3.72 M / 13.67 G, B2 27.36 M / 113.84 G. */
    @Override
    protected DeclaredModel declare(MitConfig config) {
        return new SegFormer(config);
    }

    @Override
    protected SegmentationNetwork build(MitConfig config, NDManager manager, long seed) {
        return new MitNetwork(config, manager, seed);
    }
}
