package dev.retort.distill.csf;

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
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The built CSF module; its one loss term is {@code csf.hcl}. */
final class CsfModule implements DistillationModule {
    /** The cells' key prefix; cell 0 is the deepest stage's, as the reference stores them. */
    static final String CELLS = "skfs.";

    private final CsfDistiller distiller;
    private final ParameterSet params;
    private final ReviewPyramid pyramid;
    private final int midChannels;
    private double weight;

    CsfModule(CsfDistiller distiller, ParameterSet params, ReviewPyramid pyramid, int midChannels, double weight) {
        this.distiller = distiller;
        this.params = params;
        this.pyramid = pyramid;
        this.midChannels = midChannels;
        this.weight = weight;
    }

    @Override
    public String name() {
        return CsfDistiller.NAME;
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
        List<NDArray> out = pyramid.forward(step.student(), this::fuse, step.training(), step::record, CsfDistiller.NAME);
        return List.of(new LossTerm("csf.hcl", weight, ReviewPyramid.hcl(out, step.teacher())));
    }

    /** Selective-kernel channel attention between this stage's map and the deeper stage's fused map. */
    private NDArray fuse(String c, NDArray x, NDArray r, boolean training) {
        NDArray u = x.add(r);
        long b = u.getShape().get(0), mid = u.getShape().get(1);
        NDArray z = u.reshape(b, mid, -1).mean(new int[] {2}).reshape(b, mid, 1, 1);  // GAP → [B, M, 1, 1]
        if (x.getShape().get(0) > 1) {
            z = Activation.relu(ConvBn.of(params, c + "fc").forward(z, training));
        } else {
            // BatchNorm cannot normalise one 1×1 sample: the reference switches to a BN-free branch.
            z = Activation.relu(Ops.conv2d(z, params.get(c + "fc1.0.weight"), null, 1, 0, 1));
        }
        NDList branches = new NDList();
        for (int k = 0; k < 2; k++) branches.add(Ops.conv2d(z, params.get(c + "fcs." + k + ".weight"), params.get(c + "fcs." + k + ".bias"), 1, 0, 1));
        NDArray attention = NDArrays.stack(branches, 1).softmax(1);  // [B, 2, M, 1, 1], softmax over the two branches
        return x.mul(attention.get(":, 0")).add(r.mul(attention.get(":, 1")));
    }

    /** {@code weight} is applied in place; {@code mid_channels} changes the parameter shapes. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        CsfDistiller.Options o = distiller.options(context);
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
