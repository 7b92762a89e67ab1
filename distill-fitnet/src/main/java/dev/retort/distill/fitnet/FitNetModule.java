package dev.retort.distill.fitnet;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.StagePair;
import dev.retort.distill.support.Losses;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The built FitNet module: one loss term {@code fitnet.<stage>} per hinted stage. {@code weight} applies in place;
 * {@code stages} and {@code batch_norm} change the regressors.
 */
final class FitNetModule extends ConfiguredModule<FitNetDistiller.Options> {
    FitNetModule(FitNetDistiller distiller, ParameterSet params, FitNetDistiller.Options options) {
        super(distiller, params, options);
    }

    /** The key prefix of a stage's regressor ({@code regressors.2}). */
    static String regressor(int stage) {
        return "regressors." + stage;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(StagePair.featureTaps(options().stages()));
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        FitNetDistiller.Options o = options();
        List<LossTerm> terms = new ArrayList<>();
        for (int st : o.stages()) {
            NDArray x = step.student().get(TapNames.features(st));
            String r = regressor(st);
            NDArray y = o.batchNorm() ? ConvBn.of(params, r).forward(x, step.training())
                    : Ops.conv2d(x, params.get(r + ".0.weight"), params.get(r + ".0.bias"), 1, 0, 1);
            step.record("fitnet.out." + st, y);
            terms.add(new LossTerm("fitnet." + st, o.weight(), Losses.mse(y, step.teacher().get(TapNames.features(st)))));
        }
        return terms;
    }
}
