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
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.Losses;
import dev.retort.distill.support.Resize;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.util.List;
import java.util.Map;

/** The built CSF module; its one loss term is {@code csf.hcl}. */
final class CsfModule implements DistillationModule {
    /** HCL pyramid levels, coarsest last; a level ≥ the map height is skipped and does not consume a halving. */
    static final int[] HCL_LEVELS = {4, 2, 1};

    private final CsfDistiller distiller;
    private final ParameterSet params;
    private final int stages;
    private final int midChannels;
    private double weight;

    CsfModule(CsfDistiller distiller, ParameterSet params, int stages, int midChannels, double weight) {
        this.distiller = distiller;
        this.params = params;
        this.stages = stages;
        this.midChannels = midChannels;
        this.weight = weight;
    }

    /** Key prefix of a cell; cell 0 is the deepest stage's, as the reference stores them. */
    static String cell(int index) {
        return "skfs." + index + ".";
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
    public List<LossTerm> forward(DistillStep step) {
        boolean training = step.training();
        NDArray residual = null;
        NDArray loss = null;
        for (int stage = stages; stage >= 1; stage--) {
            String c = cell(stages - stage);
            NDArray x = ConvBn.of(params, c + "conv1").forward(step.student().get(TapNames.features(stage)), training);
            if (residual != null) x = fuse(c, x, residual, training);
            NDArray y = ConvBn.of(params, c + "conv2").forward(x, training);
            step.record("csf.out." + stage, y);
            NDArray l = hcl(y, step.teacher().get(TapNames.features(stage)));
            loss = loss == null ? l : loss.add(l);
            residual = x;
        }
        return List.of(new LossTerm("csf.hcl", weight, loss));
    }

    /** Selective-kernel channel attention between this stage's map and the deeper stage's fused map. */
    private NDArray fuse(String c, NDArray x, NDArray deeper, boolean training) {
        NDArray r = Resize.like(deeper, x, Resize.Mode.NEAREST);
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

    /** HCL of one stage: MSE plus pooled MSEs at 4×4, 2×2, 1×1 with halving weights, normalised. */
    static NDArray hcl(NDArray student, NDArray teacher) {
        NDArray loss = Losses.mse(student, teacher);
        long height = student.getShape().get(2);
        double weight = 1, total = 1;
        for (int level : HCL_LEVELS) {
            if (level >= height) continue;
            weight /= 2;
            loss = loss.add(Scalars.mul(Losses.mse(Resize.to(student, level, level, Resize.Mode.AREA),
                    Resize.to(teacher, level, level, Resize.Mode.AREA)), weight));
            total += weight;
        }
        return Scalars.div(loss, total);
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
