package dev.retort.distill.pea;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.LinearProjection;
import dev.retort.distill.support.Losses;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The built PEA module: one projection and one loss term per distilled stage. {@code weights} apply in place;
 * {@code stages} changes the projections.
 */
final class PeaModule extends ConfiguredModule<PeaDistiller.Options> {
    private final int[] stages;

    PeaModule(PeaDistiller distiller, ParameterSet params, PeaDistiller.Options options) {
        super(distiller, params, options);
        this.stages = options.stages().clone();
    }

    /** Checkpoint key of stage {@code s}'s projection, as the reference. */
    static String key(int stage) {
        return "embed" + stage + "_linearproject";
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
        double[] weights = options().stageWeights();
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
}
