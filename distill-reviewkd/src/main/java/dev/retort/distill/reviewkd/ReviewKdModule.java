package dev.retort.distill.reviewkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The built ReviewKD module; its one loss term is {@code reviewkd.hcl}. */
final class ReviewKdModule implements DistillationModule {
    /** The cells' key prefix ({@code abfs.0.} is the deepest stage's, as the reference stores them). */
    static final String CELLS = "abfs.";

    private final ReviewKdDistiller distiller;
    private final ParameterSet params;
    private final ReviewPyramid pyramid;
    private final int midChannels;
    private double weight;

    ReviewKdModule(ReviewKdDistiller distiller, ParameterSet params, ReviewPyramid pyramid, int midChannels, double weight) {
        this.distiller = distiller;
        this.params = params;
        this.pyramid = pyramid;
        this.midChannels = midChannels;
        this.weight = weight;
    }

    @Override
    public String name() {
        return ReviewKdDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(pyramid.teacherTaps());
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<NDArray> out = pyramid.forward(step.student(), this::fuse, step.training(), step::record, ReviewKdDistiller.NAME);
        return List.of(new LossTerm("reviewkd.hcl", weight, ReviewPyramid.hcl(out, step.teacher())));
    }

    /** ABF: z = σ(conv([x, r])) ∈ [B, 2, H, W]; x·z₀ + r·z₁, a weight per position for each of the two maps. */
    private NDArray fuse(String c, NDArray x, NDArray r, boolean training) {
        NDArray z = Activation.sigmoid(Ops.conv2d(NDArrays.concat(new NDList(x, r), 1), params.get(c + "att_conv.0.weight"),
                params.get(c + "att_conv.0.bias"), 1, 0, 1));
        return x.mul(z.get(":, 0:1")).add(r.mul(z.get(":, 1:2")));
    }

    /** {@code weight} is applied in place; {@code mid_channels} changes the parameter shapes. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        ReviewKdDistiller.Options o = distiller.options(context);
        if (o.midChannels() != midChannels) {
            return Reconfiguration.rebuild("mid_channels " + midChannels + " -> " + o.midChannels() + " changes the parameter shapes");
        }
        String changes = o.weight() == weight ? "" : "weight " + weight + " -> " + o.weight();
        weight = o.weight();
        return Reconfiguration.applied(changes);
    }

    @Override
    public void close() {
        params.close();
    }
}
