package dev.retort.distill.reviewkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.PyramidDistiller;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Knowledge Review (Chen et al., "Distilling Knowledge via Knowledge Review", CVPR 2021) as the TransKD repository
 * runs it for segmentation ({@code train/ReviewKD.py}): the review pyramid over the four stages, deepest first, with
 * ReviewKD's attention-based fusion (ABF) — a 1×1 convolution of the concatenated maps to two sigmoid maps that weigh
 * this stage's map and the deeper one position by position — and the HCL pyramid loss ({@code reviewkd.hcl}) against
 * the teacher's stage maps. TransKD's CSF is this module with another fusion; both are {@link PyramidDistiller}s.
 */
@Component(service = Distiller.class, configurationPid = ReviewKdDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + ReviewKdDistiller.NAME)
@Designate(ocd = ReviewKdDistiller.Config.class)
public class ReviewKdDistiller extends PyramidDistiller {
    static final String NAME = "reviewkd";
    static final String PID = "dev.retort.distill.reviewkd";
    /** The cells' key prefix ({@code abfs.0.} is the deepest stage's, as the reference stores them). */
    static final String CELLS = "abfs.";

    @ObjectClassDefinition(name = "Retort ReviewKD", description = "Defaults of the Knowledge Review module (ABF + HCL)")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight of HCL (TransKD's --review-kd-loss-weight: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Channels of the fused maps (TransKD's ReviewKD.py: 64)")
        int midChannels() default 64;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    public ReviewKdDistiller() {
        super(NAME, PID, Config.class, CELLS);
    }

    @Override
    protected String method() {
        return "knowledge review: attention-based fusion + HCL pyramid loss";
    }

    /** ABF's attention: Conv2d(2·mid → 2, 1×1, bias) with PyTorch's default initialisation, then a sigmoid. */
    @Override
    protected void addFusion(ParameterSet p, String c, int mid) {
        p.add(c + "att_conv.0.weight", new Shape(2, 2L * mid, 1, 1), Init.pytorchDefault(2L * mid));
        p.add(c + "att_conv.0.bias", new Shape(2), Init.pytorchDefault(2L * mid));
    }

    /** ABF: z = σ(conv([x, r])) ∈ [B, 2, H, W]; x·z₀ + r·z₁, a weight per position for each of the two maps. */
    @Override
    protected ReviewPyramid.Fusion fusion(ParameterSet params) {
        return (c, x, r, training) -> {
            NDArray z = Activation.sigmoid(Ops.conv2d(NDArrays.concat(new NDList(x, r), 1), params.get(c + "att_conv.0.weight"),
                    params.get(c + "att_conv.0.bias"), 1, 0, 1));
            return x.mul(z.get(":, 0:1")).add(r.mul(z.get(":, 1:2")));
        };
    }
}
