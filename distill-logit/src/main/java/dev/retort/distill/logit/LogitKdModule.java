package dev.retort.distill.logit;

import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.Losses;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The logit-KD loss; it has no parameters, so both keys apply in place. */
final class LogitKdModule extends ConfiguredModule<LogitKdDistiller.Options> {
    LogitKdModule(LogitKdDistiller distiller, ParameterSet none, LogitKdDistiller.Options options) {
        super(distiller, none, options);
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(Set.of(TapNames.LOGITS));
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        LogitKdDistiller.Options o = options();
        // KL(p_t || p_s) per pixel, summed over the class axis, then the mean over batch and pixels, times T².
        return List.of(new LossTerm(LogitKdDistiller.NAME, o.weight(),
                Losses.klDivergence(step.student().get(TapNames.LOGITS), step.teacher().get(TapNames.LOGITS), o.temperature())));
    }
}
