package dev.retort.distill.csf;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * CSF, Cross Selective Fusion, with the HCL pyramid loss (TransKD §3): one cell per stage, evaluated deepest
 * first, fusing each student stage map with the fused map of the deeper stage by a selective-kernel channel
 * attention, then projecting it to the teacher's width; HCL compares each projection with the teacher's stage map.
 */
@Component(service = Distiller.class, configurationPid = CsfDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + CsfDistiller.NAME)
@Designate(ocd = CsfDistiller.Config.class)
public class CsfDistiller extends ConfiguredDistiller<CsfDistiller.Options> {
    static final String NAME = "csf";
    static final String PID = "dev.retort.distill.csf";

    @ObjectClassDefinition(name = "Retort CSF + HCL", description = "Defaults of the CSF module (feature-map branch of TransKD)")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight of HCL (the reference's --review-kd-loss-weight: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Channels of the fused maps (the reference: 64)")
        int midChannels() default 64;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: weight >= 0, mid_channels >= 1. */
    public record Options(double weight, int midChannels) {}

    public CsfDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(v.real("weight", 0, Double.MAX_VALUE), v.integer("mid_channels", 1));
    }

    @Override
    public String description() {
        Options o = configured();
        return "cross selective fusion + HCL pyramid loss (weight " + o.weight() + ", " + o.midChannels() + " mid channels)";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        int mid = o.midChannels();
        int hidden = Math.max(mid / 16, 32);
        ReviewPyramid.Widths widths = ReviewPyramid.widths(context, NAME);
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        // ReviewKD's pyramid with CSF's fusion: a selective-kernel channel attention per fused cell.
        ReviewPyramid pyramid = ReviewPyramid.add(p, CsfModule.CELLS, widths, mid, (c, stage) -> {
            ConvBn.add(p, c + "fc", mid, hidden, 1, Init.pytorchDefault(mid));
            p.add(c + "fc1.0.weight", new Shape(hidden, mid, 1, 1), Init.pytorchDefault(mid));
            for (int k = 0; k < 2; k++) {
                p.add(c + "fcs." + k + ".weight", new Shape(mid, hidden, 1, 1), Init.pytorchDefault(hidden));
                p.add(c + "fcs." + k + ".bias", new Shape(mid), Init.pytorchDefault(hidden));
            }
        });
        return new CsfModule(this, p, pyramid, mid, o.weight());
    }
}
