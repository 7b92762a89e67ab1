package dev.retort.distill.cwd;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.StagePair;
import dev.retort.distill.support.Losses;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The built CWD module: a term {@code cwd.<stage>} per distilled stage map, then {@code cwd.logits}. Temperature,
 * weights and the logits switch apply in place (the logits need no parameters); {@code stages} rebuilds.
 */
final class CwdModule extends ConfiguredModule<CwdDistiller.Options> {
    CwdModule(CwdDistiller distiller, ParameterSet params, CwdDistiller.Options options) {
        super(distiller, params, options);
    }

    /** The key prefix of a stage's connector ({@code connectors.4}: {@code .0} the conv, {@code .1} the BatchNorm). */
    static String connector(int stage) {
        return "connectors." + stage;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = StagePair.featureTaps(options().stages());
        if (options().logits()) taps.add(TapNames.LOGITS);
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        CwdDistiller.Options o = options();
        List<LossTerm> terms = new ArrayList<>();
        for (int st : o.stages()) {
            // TransKD's conv + InPlaceABNSync (BN + leaky ReLU) + ReLU: ReLU after a leaky ReLU is a ReLU.
            NDArray y = Activation.relu(ConvBn.of(params, connector(st)).forward(step.student().get(TapNames.features(st)), step.training()));
            step.record("cwd.out." + st, y);
            terms.add(new LossTerm("cwd." + st, o.weight(), Losses.channelWiseDivergence(y, step.teacher().get(TapNames.features(st)), o.temperature())));
        }
        if (o.logits()) {
            terms.add(new LossTerm("cwd.logits", o.logitsWeight(),
                    Losses.channelWiseDivergence(step.student().get(TapNames.LOGITS), step.teacher().get(TapNames.LOGITS), o.temperature())));
        }
        return terms;
    }
}
