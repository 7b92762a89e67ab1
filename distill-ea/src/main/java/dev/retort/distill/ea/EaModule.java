package dev.retort.distill.ea;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Refinement;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The built EA module: one refinement of PEA's output per assisted stage. EA has no key applied in place:
 * {@code stages} changes the assistants, and {@code lambdas}/{@code mus} are initial values of learnable parameters.
 */
final class EaModule extends ConfiguredModule<EaDistiller.Options> {
    static final float NORM_EPS = 1e-5f;

    private final int[] stages;
    private final int[] kernels;
    private final int[] strides;
    private final int stageCount;

    EaModule(EaDistiller distiller, ParameterSet params, EaDistiller.Options options, int[] kernels, int[] strides, int stageCount) {
        super(distiller, params, options);
        this.stages = options.stages().clone();
        this.kernels = kernels.clone();
        this.strides = strides.clone();
        this.stageCount = stageCount;
    }

    @Override
    public List<Refinement> refinements() {
        List<Refinement> list = new ArrayList<>();
        for (int i = 0; i < stages.length; i++) {
            int s = stages[i], k = kernels[i], r = strides[i];
            list.add(new Refinement() {
                @Override
                public String port() {
                    return "pea.output." + s;
                }

                @Override
                public NDArray apply(NDArray projected, DistillStep step) {
                    NDArray map = Ops.conv2d(step.student().get(TapNames.inputs(s)), params.get("patch_embed" + s + ".proj.weight"),
                            params.get("patch_embed" + s + ".proj.bias"), r, k / 2, 1);
                    NDArray assist = Ops.layerNorm(Ops.mapToTokens(map), params, "patch_embed" + s + ".norm", NORM_EPS);
                    step.record("ea.assist." + s, assist);
                    NDArray lambda = params.get("fuse_weights." + (s - 1));
                    NDArray mu = params.get("fuse_weights." + (stageCount + s - 1));
                    return projected.mul(lambda).add(assist.mul(mu));
                }
            });
        }
        return list;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(Set.of());  // refines PEA's projections from the student's own inputs
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        return List.of();  // works through its refinements of PEA
    }
}
