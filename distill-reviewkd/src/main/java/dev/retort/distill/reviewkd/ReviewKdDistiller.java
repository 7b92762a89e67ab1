package dev.retort.distill.reviewkd;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Knowledge Review (Chen et al., "Distilling Knowledge via Knowledge Review", CVPR 2021) as the TransKD repository
 * runs it for segmentation ({@code train/ReviewKD.py}): the review pyramid over the four stages, deepest first, with
 * ReviewKD's attention-based fusion (ABF) — a 1×1 convolution of the concatenated maps to two sigmoid maps that weigh
 * this stage's map and the deeper one position by position — and the HCL pyramid loss against the teacher's stage
 * maps. TransKD's CSF is this module with another fusion; both share {@link ReviewPyramid}.
 */
@Component(service = Distiller.class, configurationPid = ReviewKdDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + ReviewKdDistiller.NAME)
@Designate(ocd = ReviewKdDistiller.Config.class)
public class ReviewKdDistiller extends ConfiguredDistiller<ReviewKdDistiller.Options> {
    static final String NAME = "reviewkd";
    static final String PID = "dev.retort.distill.reviewkd";

    @ObjectClassDefinition(name = "Retort ReviewKD", description = "Defaults of the Knowledge Review module (ABF + HCL)")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight of HCL (TransKD's --review-kd-loss-weight: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Channels of the fused maps (TransKD's ReviewKD.py: 64)")
        int midChannels() default 64;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: weight >= 0, mid_channels >= 1. */
    public record Options(double weight, int midChannels) {}

    public ReviewKdDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(v.real("weight", 0, Double.MAX_VALUE), v.integer("mid_channels", 1));
    }

    @Override
    public String description() {
        Options o = configured();
        return "knowledge review: attention-based fusion + HCL pyramid loss (weight " + o.weight() + ", " + o.midChannels() + " mid channels)";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        int mid = o.midChannels();
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        // ABF's attention: Conv2d(2·mid → 2, 1×1, bias) with PyTorch's default initialisation, then a sigmoid.
        ReviewPyramid pyramid = ReviewPyramid.add(p, ReviewKdModule.CELLS, ReviewPyramid.widths(context, NAME), mid, (c, stage) -> {
            p.add(c + "att_conv.0.weight", new Shape(2, 2L * mid, 1, 1), Init.pytorchDefault(2L * mid));
            p.add(c + "att_conv.0.bias", new Shape(2), Init.pytorchDefault(2L * mid));
        });
        return new ReviewKdModule(this, p, pyramid, mid, o.weight());
    }
}
