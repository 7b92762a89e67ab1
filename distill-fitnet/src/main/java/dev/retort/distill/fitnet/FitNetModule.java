package dev.retort.distill.fitnet;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.Losses;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** The built FitNet module: one loss term {@code fitnet.<stage>} per hinted stage. */
final class FitNetModule implements DistillationModule {
    private final FitNetDistiller distiller;
    private final ParameterSet params;
    private final int[] stages;
    private final boolean batchNorm;
    private double weight;

    FitNetModule(FitNetDistiller distiller, ParameterSet params, FitNetDistiller.Options options) {
        this.distiller = distiller;
        this.params = params;
        this.stages = options.stages().clone();
        this.batchNorm = options.batchNorm();
        this.weight = options.weight();
    }

    /** The key prefix of a stage's regressor ({@code regressors.2}). */
    static String regressor(int stage) {
        return "regressors." + stage;
    }

    @Override
    public String name() {
        return FitNetDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        for (int s : stages) taps.add(TapNames.features(s));
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<LossTerm> terms = new ArrayList<>();
        for (int st : stages) {
            NDArray x = step.student().get(TapNames.features(st));
            String r = regressor(st);
            NDArray y = batchNorm ? ConvBn.of(params, r).forward(x, step.training())
                    : Ops.conv2d(x, params.get(r + ".0.weight"), params.get(r + ".0.bias"), 1, 0, 1);
            step.record("fitnet.out." + st, y);
            terms.add(new LossTerm("fitnet." + st, weight, Losses.mse(y, step.teacher().get(TapNames.features(st)))));
        }
        return terms;
    }

    /** {@code weight} is applied in place; {@code stages} and {@code batch_norm} change the regressors. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        FitNetDistiller.Options o = distiller.options(context);
        List<String> structural = new ArrayList<>();
        if (!Arrays.equals(o.stages(), stages)) structural.add("stages " + list(stages) + " -> " + list(o.stages()));
        if (o.batchNorm() != batchNorm) structural.add("batch_norm " + batchNorm + " -> " + o.batchNorm());
        if (!structural.isEmpty()) return Reconfiguration.rebuild(String.join(", ", structural) + " changes the regressors");
        String changes = o.weight() == weight ? "" : "weight " + weight + " -> " + o.weight();
        weight = o.weight();
        return Reconfiguration.applied(changes);
    }

    private static String list(int[] values) {
        return Arrays.toString(values).replaceAll("[\\[\\] ]", "");
    }

    @Override
    public void close() {
        params.close();
    }
}
