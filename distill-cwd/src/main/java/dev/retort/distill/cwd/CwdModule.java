package dev.retort.distill.cwd;

import ai.djl.ndarray.NDArray;
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
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** The built CWD module: a term {@code cwd.<stage>} per distilled stage map, then {@code cwd.logits}. */
final class CwdModule implements DistillationModule {
    private final CwdDistiller distiller;
    private final ParameterSet params;
    private final int[] stages;
    private boolean logits;
    private double temperature;
    private double weight;
    private double logitsWeight;

    CwdModule(CwdDistiller distiller, ParameterSet params, CwdDistiller.Options options) {
        this.distiller = distiller;
        this.params = params;
        this.stages = options.stages().clone();
        apply(options);
    }

    private void apply(CwdDistiller.Options o) {
        logits = o.logits();
        temperature = o.temperature();
        weight = o.weight();
        logitsWeight = o.logitsWeight();
    }

    /** The key prefix of a stage's connector ({@code connectors.4}: {@code .0} the conv, {@code .1} the BatchNorm). */
    static String connector(int stage) {
        return "connectors." + stage;
    }

    @Override
    public String name() {
        return CwdDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        for (int s : stages) taps.add(TapNames.features(s));
        if (logits) taps.add(TapNames.LOGITS);
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<LossTerm> terms = new ArrayList<>();
        for (int st : stages) {
            // TransKD's conv + InPlaceABNSync (BN + leaky ReLU) + ReLU: ReLU after a leaky ReLU is a ReLU.
            NDArray y = Activation.relu(ConvBn.of(params, connector(st)).forward(step.student().get(TapNames.features(st)), step.training()));
            step.record("cwd.out." + st, y);
            terms.add(new LossTerm("cwd." + st, weight, Losses.channelWiseDivergence(y, step.teacher().get(TapNames.features(st)), temperature)));
        }
        if (logits) {
            terms.add(new LossTerm("cwd.logits", logitsWeight,
                    Losses.channelWiseDivergence(step.student().get(TapNames.LOGITS), step.teacher().get(TapNames.LOGITS), temperature)));
        }
        return terms;
    }

    /** Temperature, weights and the logits switch are applied in place (the logits need no parameters); {@code stages} rebuilds. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        CwdDistiller.Options o = distiller.options(context);
        if (!Arrays.equals(o.stages(), stages)) {
            return Reconfiguration.rebuild("stages " + list(stages) + " -> " + list(o.stages()) + " changes the connectors");
        }
        if (o.logits() && !logits) distiller.requireLogits(context);
        List<String> changes = new ArrayList<>();
        if (o.logits() != logits) changes.add("logits " + logits + " -> " + o.logits());
        if (o.temperature() != temperature) changes.add("temperature " + temperature + " -> " + o.temperature());
        if (o.weight() != weight) changes.add("weight " + weight + " -> " + o.weight());
        if (o.logitsWeight() != logitsWeight) changes.add("logits_weight " + logitsWeight + " -> " + o.logitsWeight());
        apply(o);
        return Reconfiguration.applied(String.join(", ", changes));
    }

    private static String list(int[] values) {
        return values.length == 0 ? "(none)" : Arrays.toString(values).replaceAll("[\\[\\] ]", "");
    }

    @Override
    public void close() {
        params.close();
    }
}
