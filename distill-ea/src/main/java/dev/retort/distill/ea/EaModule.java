package dev.retort.distill.ea;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.Refinement;
import dev.retort.api.tap.TapNames;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The built EA module: one refinement of PEA's output per assisted stage. */
final class EaModule implements DistillationModule {
    static final float NORM_EPS = 1e-5f;

    private final EaDistiller distiller;
    private final ParameterSet params;
    private final int[] stages;
    private final int[] kernels;
    private final int[] strides;
    private final int stageCount;
    private final double[] lambdas;
    private final double[] mus;

    EaModule(EaDistiller distiller, ParameterSet params, EaDistiller.Options options, int[] kernels, int[] strides, int stageCount) {
        this.distiller = distiller;
        this.lambdas = options.lambdas().clone();
        this.mus = options.mus().clone();
        this.params = params;
        this.stages = options.stages().clone();
        this.kernels = kernels.clone();
        this.strides = strides.clone();
        this.stageCount = stageCount;
    }

    @Override
    public String name() {
        return EaDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
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

    /**
     * EA has no non-structural key: {@code stages} changes the assistants, and {@code lambdas}/{@code mus} are
     * initial values of learnable parameters, so a new value means starting again.
     */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        EaDistiller.Options o = distiller.options(context);
        List<String> structural = new ArrayList<>();
        int[] st = o.stages();
        double[] l = o.lambdas(), m = o.mus();
        if (!Arrays.equals(st, stages)) structural.add("stages " + Arrays.toString(stages) + " -> " + Arrays.toString(st));
        if (!Arrays.equals(l, lambdas)) structural.add("lambdas " + Arrays.toString(lambdas) + " -> " + Arrays.toString(l) + " (initial values)");
        if (!Arrays.equals(m, mus)) structural.add("mus " + Arrays.toString(mus) + " -> " + Arrays.toString(m) + " (initial values)");
        if (!structural.isEmpty()) return Reconfiguration.rebuild(String.join(", ", structural) + " changes the parameters");
        return Reconfiguration.applied("");
    }

    @Override
    public void close() {
        params.close();
    }
}
