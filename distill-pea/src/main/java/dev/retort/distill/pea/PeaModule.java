package dev.retort.distill.pea;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.LinearProjection;
import dev.retort.distill.support.Losses;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** The built PEA module: one projection and one loss term per distilled stage. */
final class PeaModule implements DistillationModule {
    private final PeaDistiller distiller;
    private final ParameterSet params;
    private final int[] stages;
    private double[] weights;

    PeaModule(PeaDistiller distiller, ParameterSet params, int[] stages, double[] weights) {
        this.distiller = distiller;
        this.params = params;
        this.stages = stages.clone();
        this.weights = weights.clone();
    }

    /** Checkpoint key of stage {@code s}'s projection, as the reference. */
    static String key(int stage) {
        return "embed" + stage + "_linearproject";
    }

    @Override
    public String name() {
        return PeaDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public List<String> ports() {
        List<String> ports = new ArrayList<>();
        for (int s : stages) {
            ports.add("pea.input." + s);
            ports.add("pea.output." + s);
        }
        return ports;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        for (int s : stages) taps.add(TapNames.embeds(s));
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<LossTerm> terms = new ArrayList<>();
        for (int i = 0; i < stages.length; i++) {
            int s = stages[i];
            NDArray embedding = step.refine("pea.input." + s, step.student().get(TapNames.embeds(s)));
            NDArray projected = step.refine("pea.output." + s, LinearProjection.of(params, key(s)).forward(embedding));
            step.record("pea.out." + s, projected);
            terms.add(new LossTerm("pea." + s, weights[i], Losses.mse(projected, step.teacher().get(TapNames.embeds(s)))));
        }
        return terms;
    }

    /** {@code weights} are applied in place; {@code stages} changes the projections. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        PeaDistiller.Options o = distiller.options(context);
        if (!Arrays.equals(o.stages(), stages)) {
            return Reconfiguration.rebuild("stages " + list(stages) + " -> " + list(o.stages()) + " changes the projections");
        }
        double[] w = o.stageWeights();
        String changes = Arrays.equals(w, weights) ? "" : "stage weights " + list(weights) + " -> " + list(w);
        weights = w;
        return Reconfiguration.applied(changes);
    }

    private static String list(int[] values) {
        return Arrays.toString(values).replaceAll("[\\[\\] ]", "");
    }

    private static String list(double[] values) {
        return Arrays.toString(values).replaceAll("[\\[\\] ]", "");
    }

    @Override
    public void close() {
        params.close();
    }
}
