package dev.retort.distill.maskd;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Preparation;
import dev.retort.api.distill.PreparationStep;
import dev.retort.api.distill.Probe;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.Losses;
import dev.retort.nn.HostTransfers;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The built MasKD module. Its loss terms are {@code maskd.logits} (the official segmentation loss, ×0.5 inside) and
 * {@code maskd.s<stage>} per feature stage. Its tokens (and mask weighting modules) are trained by its preparation
 * phase and frozen afterwards; the buffer {@value #PREPARED} records that, so a module restored from a checkpoint
 * is known prepared. Loss weights and the custom-mask switch apply in place; the rest shapes the parameters or the
 * prepared tokens (the keys marked {@code @Structural} in {@link MaskdDistiller.Config}).
 */
final class MaskdModule extends ConfiguredModule<MaskdDistiller.Options> {
    /** The logit tokens' key: the official segmentation {@code MaskModule}'s only parameter. */
    static final String LOGIT_TOKENS = "mask_token";
    /** A buffer: 1 once the preparation phase has finished (saved with the parameters), else 0. */
    static final String PREPARED = "prepared";
    /** The official segmentation loss's ε on the mask area. */
    static final double LOGIT_EPS = 1e-5;

    /** One feature stage; {@code index} is its position in the configured list (the official ModuleList index). */
    record Level(int index, int stage, int teacherChannels, int studentChannels) {
        String token() {
            return "mask_modules." + index + ".mask_token";
        }

        String prob(int layer) {
            return "mask_modules." + index + ".prob." + layer;
        }

        String align() {
            return "align_modules.component_0." + index;
        }
    }

    private final List<Level> levels;

    MaskdModule(MaskdDistiller distiller, ParameterSet params, MaskdDistiller.Options options, List<Level> levels) {
        super(distiller, params, options);
        this.levels = List.copyOf(levels);
    }

    List<Level> levels() {
        return levels;
    }

    // ---- stage 2: masked distillation --------------------------------------------------------------------------

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        if (options().logits()) taps.add(TapNames.LOGITS);
        for (Level level : levels) taps.add(TapNames.features(level.stage()));
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<LossTerm> terms = new ArrayList<>();
        if (options().logits()) {
            NDArray teacher = step.teacher().get(TapNames.LOGITS), student = step.student().get(TapNames.LOGITS);
            // frozen tokens: the distillation loss never trains them, even before a preparation (dry steps, parity)
            NDArray masks = MaskdMath.masks(frozen(LOGIT_TOKENS), teacher);
            step.record("maskd.logits.kd_mask", MaskdMath.asMaps(masks, teacher));
            NDArray perMask = MaskdMath.maskedSquareError(student, teacher, masks, LOGIT_EPS);
            long b = teacher.getShape().get(0), t = masks.getShape().get(1), c = teacher.getShape().get(1);
            terms.add(new LossTerm("maskd.logits", options().weight(), Scalars.mul(perMask.sum(), 0.5 / ((double) b * t * c))));
        }
        for (Level level : levels) {
            NDArray teacher = step.teacher().get(TapNames.features(level.stage()));
            NDArray aligned = Ops.conv2d(step.student().get(TapNames.features(level.stage())), params.get(level.align() + ".weight"),
                    params.get(level.align() + ".bias"), 1, 0, 1);
            step.record("maskd.aligned." + level.stage(), aligned);
            NDArray tokens = frozen(level.token());
            NDArray masks = MaskdMath.masks(tokens, teacher);
            if (options().customMask() && step.progress().step() >= options().customMaskWarmup()) {
                masks = masks.mul(MaskdMath.masks(tokens, aligned.stopGradient()));  // the student's masks carry no gradient
            }
            step.record("maskd.s" + level.stage() + ".kd_mask", MaskdMath.asMaps(masks, teacher));
            NDArray perMask = MaskdMath.maskedSquareError(aligned, teacher, masks, 0);  // mmrazor: no ε, no 0.5
            long b = teacher.getShape().get(0), t = masks.getShape().get(1), c = teacher.getShape().get(1);
            NDArray value;
            if (options().weightMask()) {
                NDArray w = weights(level, teacher, true);
                value = Scalars.div(perMask.mul(w).sum(), (double) b * c);
            } else {
                value = Scalars.div(perMask.sum(), (double) b * t * c);
            }
            terms.add(new LossTerm("maskd.s" + level.stage(), options().featureWeight(), value));
        }
        return terms;
    }

    /** A token or weighting parameter as stage 2 uses it: without gradient. */
    private NDArray frozen(String key) {
        return params.get(key).stopGradient();
    }

    /** The mask weighting module's weights on a teacher map, [B, T]. */
    NDArray weights(Level level, NDArray teacher, boolean frozen) {
        String p0 = level.prob(0), p2 = level.prob(2);
        return frozen
                ? MaskdMath.maskWeights(teacher, frozen(p0 + ".weight"), frozen(p0 + ".bias"), frozen(p2 + ".weight"), frozen(p2 + ".bias"))
                : MaskdMath.maskWeights(teacher, params.get(p0 + ".weight"), params.get(p0 + ".bias"), params.get(p2 + ".weight"),
                        params.get(p2 + ".bias"));
    }

    // ---- stage 1: token learning on the frozen teacher ---------------------------------------------------------

    /** The parts of one feature stage's stage-1 computation. */
    record Stage1(NDArray masks, NDArray weights, NDArray masked, NDArray dice) {}

    /** The official {@code forward_train} of one feature stage on the teacher's map (gradients reach the tokens and weighting module). */
    Stage1 stage1(Level level, NDArray teacher, Probe probe) {
        NDArray masks = MaskdMath.masks(params.get(level.token()), teacher);
        NDArray w = options().weightMask() ? weights(level, teacher, false) : null;
        NDArray masked = MaskdMath.masked(teacher, MaskdMath.coverage(masks, w));
        NDArray dice = MaskdMath.dice(masks);
        String s = "maskd.s" + level.stage() + ".";
        probe.record(s + "mask", MaskdMath.asMaps(masks, teacher));
        if (w != null) probe.record(s + "mask_weights", w);
        probe.record(s + "masked", masked);
        probe.record(s + "dice", dice);
        return new Stage1(masks, w, masked, dice);
    }

    /**
     * The preparation loss of one batch. Logits (the official segmentation stage 1): cross-entropy of the teacher's
     * masked logits Σ_k M_k ⊙ Y_t against the labels, plus the Dice loss. Feature stages: the official code runs the
     * rest of the frozen teacher on the masked map, which taps cannot do; here the task term is the mean squared error
     * between the masked map and the teacher's map (the masked map should still carry what the teacher's later layers
     * read), plus the Dice loss.
     */
    NDArray stage1Loss(TapValues teacher, Labels labels, Probe probe) {
        NDArray loss = null;
        if (options().logits()) {
            NDArray logits = teacher.get(TapNames.LOGITS);
            NDArray masks = MaskdMath.masks(params.get(LOGIT_TOKENS), logits);
            NDArray masked = MaskdMath.masked(logits, MaskdMath.coverage(masks, null));
            NDArray dice = MaskdMath.dice(masks);
            NDArray ce = MaskdMath.crossEntropy(masked, labels.values(), labels.ignoreClass());
            probe.record("maskd.logits.mask", MaskdMath.asMaps(masks, logits));
            probe.record("maskd.logits.masked", masked);
            probe.record("maskd.logits.dice", dice);
            probe.record("maskd.logits.ce", ce);
            loss = ce.add(Scalars.mul(dice, options().diceWeight()));
        }
        for (Level level : levels) {
            NDArray map = teacher.get(TapNames.features(level.stage()));
            Stage1 parts = stage1(level, map, probe);
            NDArray term = Losses.mse(parts.masked(), map).add(Scalars.mul(parts.dice(), options().diceWeight()));
            loss = loss == null ? term : loss.add(term);
        }
        return loss;
    }

    /** The parameters the preparation phase trains: every token and weighting module, in key order. */
    Map<String, Parameter> preparedParameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        params.asMap().forEach((k, p) -> {
            if (k.equals(LOGIT_TOKENS) || k.startsWith("mask_modules.")) m.put(k, p);
        });
        return m;
    }

    boolean prepared() {
        return HostTransfers.floats(params.get(PREPARED))[0] == 1f;  // once, when the module joins a run
    }

    /** Freezes the prepared parameters: they stay in the module and its checkpoints and leave the optimiser. */
    private void freeze() {
        preparedParameters().values().forEach(p -> {
            if (p.requiresGradient()) p.freeze(true);
        });
    }

    @Override
    public Optional<Preparation> preparation() {
        if (prepared()) {
            freeze();  // restored from a checkpoint (or a cache): the tokens are trained, keep them out of the optimiser
            return Optional.empty();
        }
        return Optional.of(new TokenLearning(options()));
    }

    /** Stage 1 of MasKD, run by the runner with its own AdamW before the module distils. */
    private final class TokenLearning implements Preparation {
        private final MaskdDistiller.Options o;

        TokenLearning(MaskdDistiller.Options o) {
            this.o = o;
        }

        @Override
        public long steps() {
            return o.prepareSteps();
        }

        @Override
        public double learningRate() {
            return o.prepareLr();
        }

        @Override
        public double weightDecay() {
            return o.prepareWeightDecay();
        }

        @Override
        public Map<String, Parameter> parameters() {
            return preparedParameters();
        }

        @Override
        public NDArray loss(PreparationStep step) {
            return stage1Loss(step.teacher(), step.labels(), Probe.NONE);
        }

        @Override
        public void finish() {
            freeze();
            params.assign(PREPARED, new float[] {1f});
        }

        @Override
        public String toString() {
            return "MasKD token learning (" + o.prepareSteps() + " steps, lr " + o.prepareLr() + ")";
        }
    }
}
