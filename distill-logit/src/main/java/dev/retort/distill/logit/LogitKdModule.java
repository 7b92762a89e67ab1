package dev.retort.distill.logit;

import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.Losses;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The logit-KD loss; it has no parameters. */
final class LogitKdModule implements DistillationModule {
    private final LogitKdDistiller distiller;
    private LogitKdDistiller.Options options;

    LogitKdModule(LogitKdDistiller distiller, LogitKdDistiller.Options options) {
        this.distiller = distiller;
        this.options = options;
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
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(Set.of(TapNames.LOGITS));
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        // KL(p_t || p_s) per pixel, summed over the class axis, then the mean over batch and pixels, times T².
        return List.of(new LossTerm(LogitKdDistiller.NAME, options.weight(),
                Losses.klDivergence(step.student().get(TapNames.LOGITS), step.teacher().get(TapNames.LOGITS), options.temperature())));
    }

    /** Both keys are applied in place (the module has no parameters). */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        LogitKdDistiller.Options next = distiller.options(context);
        StringBuilder changes = new StringBuilder();
        if (next.temperature() != options.temperature()) {
            changes.append("temperature ").append(options.temperature()).append(" -> ").append(next.temperature());
        }
        if (next.weight() != options.weight()) {
            changes.append(changes.length() > 0 ? ", " : "").append("weight ").append(options.weight()).append(" -> ").append(next.weight());
        }
        options = next;
        return Reconfiguration.applied(changes.toString());
    }

    @Override
    public void close() {}
}
