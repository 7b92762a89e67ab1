package dev.retort.distill.logit;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.nn.Scalars;
import java.util.List;
import java.util.Map;

/** The logit-KD loss; it has no parameters. */
final class LogitKdModule implements DistillationModule {
    private final LogitKdDistiller distiller;
    private double temperature;
    private double weight;

    LogitKdModule(LogitKdDistiller distiller, double temperature, double weight) {
        this.distiller = distiller;
        this.temperature = temperature;
        this.weight = weight;
    }

    @Override
    public String name() {
        return LogitKdDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return Map.of();
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        NDArray teacher = Scalars.div(step.teacher().get(TapNames.LOGITS), temperature).logSoftmax(1);
        NDArray student = Scalars.div(step.student().get(TapNames.LOGITS), temperature).logSoftmax(1);
        // KL(p_t || p_s) per pixel, summed over the class axis, then the mean over batch and pixels.
        NDArray kl = teacher.exp().mul(teacher.sub(student)).sum(new int[] {1}).mean();
        return List.of(new LossTerm(LogitKdDistiller.NAME, weight, Scalars.mul(kl, temperature * temperature)));
    }

    /** Both keys are applied in place (the module has no parameters). */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        double[] next = distiller.values(context);
        StringBuilder changes = new StringBuilder();
        if (next[0] != temperature) changes.append("temperature ").append(temperature).append(" -> ").append(next[0]);
        if (next[1] != weight) changes.append(changes.length() > 0 ? ", " : "").append("weight ").append(weight).append(" -> ").append(next[1]);
        temperature = next[0];
        weight = next[1];
        return Reconfiguration.applied(changes.toString());
    }

    @Override
    public void close() {}
}
