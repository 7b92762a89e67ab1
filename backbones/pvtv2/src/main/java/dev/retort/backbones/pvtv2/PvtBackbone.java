package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.support.ConfiguredBackbone;
import dev.retort.backbones.support.DeclaredModel;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** PVTv2-B0 … B5 and B2-Li with the Semantic FPN neck and head, as the {@code pvtv2} backbone family. */
@Component(service = Backbone.class, configurationPid = PvtBackbone.PID, property = {Backbone.FAMILY_PROPERTY + "=pvtv2",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b0", Backbone.VARIANTS_PROPERTY + "=pvtv2-b1", Backbone.VARIANTS_PROPERTY + "=pvtv2-b2",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b2-li", Backbone.VARIANTS_PROPERTY + "=pvtv2-b3", Backbone.VARIANTS_PROPERTY + "=pvtv2-b4",
        Backbone.VARIANTS_PROPERTY + "=pvtv2-b5"})
@Designate(ocd = PvtBackbone.Config.class)
public class PvtBackbone extends ConfiguredBackbone<PvtConfig> {
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

    public PvtBackbone() {
        super("pvtv2", PvtConfig.PRESETS.keySet(), PvtConfig::of, Config.class);
    }

    @Override
    protected DeclaredModel declare(PvtConfig config) {
        return new PvtModel(config);
    }

    @Override
    protected SegmentationNetwork build(PvtConfig config, NDManager manager, long seed) {
        return new PvtNetwork(config, manager, seed);
    }
}
