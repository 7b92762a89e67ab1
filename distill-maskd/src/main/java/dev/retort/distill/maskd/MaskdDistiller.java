package dev.retort.distill.maskd;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.Structural;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * MasKD, masked distillation with receptive tokens (Huang et al., ICLR 2023). Receptive tokens R (T×C) turn a teacher
 * map F into soft masks M = sigmoid(R·F); the student reconstructs the teacher inside each mask with an L2 loss
 * weighted by M² and normalised by the mask's area. The tokens are first learnt on the frozen teacher (the module's
 * preparation phase: the task loss on the teacher's masked output plus a Dice diversity loss), then frozen.
 *
 * <p>By default the official segmentation variant on the logits (T = 8, ×0.5, ε 1e-5); optionally the detection-style
 * variant on MiT stage maps (per stage a 1×1 connector with bias on the student map, T = 6, optional mask weighting
 * module, optional custom mask M_t ⊙ M_s after a warm-up).
 */
@Component(service = Distiller.class, configurationPid = MaskdDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + MaskdDistiller.NAME)
@Designate(ocd = MaskdDistiller.Config.class)
public class MaskdDistiller extends ConfiguredDistiller<MaskdDistiller.Options> {
    static final String NAME = "maskd";
    static final String PID = "dev.retort.distill.maskd";
    /** Standard deviation of the tokens' initialisation (the official N(0, 0.01²)). */
    static final double TOKEN_STD = 0.01;
    /** What a change of a key marked with it does: it shapes the parameters or the prepared state. */
    static final String PREPARED_STATE = "changes the parameters or the prepared tokens (a new preparation)";

    @ObjectClassDefinition(name = "Retort MasKD", description = "Defaults of the MasKD module (masked distillation with receptive tokens)")
    public @interface Config {
        @AttributeDefinition(description = "Distil the logits as the official segmentation code (masks from the teacher's logits)")
        @Structural(PREPARED_STATE)
        boolean logits() default true;

        @AttributeDefinition(description = "Receptive tokens on the logits (at least 2, the Dice loss compares pairs; the official segmentation code: 8)")
        @Structural(PREPARED_STATE)
        int tokens() default 8;

        @AttributeDefinition(description = "Loss weight of the logit term (λ_kd; the term already holds the official factor 0.5)")
        double weight() default 1.0;

        @AttributeDefinition(description = "MiT stages distilled at feature level, e.g. 1,2,3,4 (empty: none)")
        @Structural(PREPARED_STATE)
        String stages() default "";

        @AttributeDefinition(description = "Receptive tokens per feature stage (the official detection code: 6)")
        @Structural(PREPARED_STATE)
        int featureTokens() default 6;

        @AttributeDefinition(description = "Loss weight of each feature-stage term (mmrazor's loss_weight)")
        double featureWeight() default 1.0;

        @AttributeDefinition(description = "Feature stages: weight the masks per image with the mask weighting module (3x3 conv, pool, 1x1 conv, softmax)")
        @Structural(PREPARED_STATE)
        boolean weightMask() default false;

        @AttributeDefinition(description = "Feature stages: after the warm-up, use the custom mask M_teacher x M_student")
        boolean customMask() default false;

        @AttributeDefinition(description = "Training steps of the run before the custom mask is used")
        int customMaskWarmup() default 1000;

        @AttributeDefinition(description = "Weight of the Dice diversity loss in the preparation phase (official: 1)")
        @Structural(PREPARED_STATE)
        double diceWeight() default 1.0;

        @AttributeDefinition(description = "Steps of the preparation phase (token learning on the frozen teacher; official: 10000 with SGD)")
        @Structural(PREPARED_STATE)
        int prepareSteps() default 2000;

        @AttributeDefinition(description = "Learning rate of the preparation phase's AdamW (constant)")
        @Structural(PREPARED_STATE)
        double prepareLr() default 0.01;

        @AttributeDefinition(description = "Weight decay of the preparation phase's AdamW")
        @Structural(PREPARED_STATE)
        double prepareWeightDecay() default 1e-3;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /**
     * What a build reads.
     *
     * @param stages MiT stages distilled at feature level, in the configured order (the official module list's order)
     */
    public record Options(boolean logits, int tokens, double weight, List<Integer> stages, int featureTokens, double featureWeight,
                          boolean weightMask, boolean customMask, int customMaskWarmup, double diceWeight, int prepareSteps, double prepareLr,
                          double prepareWeightDecay) {
        public Options {
            stages = List.copyOf(stages);
        }
    }

    public MaskdDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        Set<Integer> stages = new LinkedHashSet<>();
        for (int s : v.integers("stages")) {
            if (s < 1) throw v.error("stages", "a list of stage numbers >= 1", v.raw("stages"));
            if (!stages.add(s)) throw v.error("stages", "a list of distinct stages", v.raw("stages"));
        }
        boolean logits = v.bool("logits");
        if (!logits && stages.isEmpty()) throw v.invalid("nothing to distil: logits = false and no stages; set logits = true or list stages");
        return new Options(logits, v.integer("tokens", 2), v.real("weight", 0, Double.MAX_VALUE), new ArrayList<>(stages),
                v.integer("feature_tokens", 2), v.real("feature_weight", 0, Double.MAX_VALUE), v.bool("weight_mask"), v.bool("custom_mask"),
                v.integer("custom_mask_warmup", 0), v.real("dice_weight", 0, Double.MAX_VALUE), v.integer("prepare_steps", 1),
                v.positive("prepare_lr"), v.real("prepare_weight_decay", 0, Double.MAX_VALUE));
    }

    @Override
    public String description() {
        Options o = configured();
        List<String> parts = new ArrayList<>();
        if (o.logits()) parts.add("logits (" + o.tokens() + " tokens, weight " + o.weight() + ")");
        if (!o.stages().isEmpty()) {
            parts.add("stages " + o.stages() + " (" + o.featureTokens() + " tokens, weight " + o.featureWeight() + (o.weightMask() ? ", weighted masks" : "")
                    + (o.customMask() ? ", custom mask after " + o.customMaskWarmup() + " steps" : "") + ")");
        }
        return "masked distillation with receptive tokens on " + String.join(" and ", parts) + "; tokens learnt first on the frozen teacher ("
                + o.prepareSteps() + " preparation steps)";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        List<MaskdModule.Level> levels = new ArrayList<>();
        try {
            if (o.logits()) {
                TapSpec t = context.teacher().require(TapNames.LOGITS), s = context.student().require(TapNames.LOGITS);
                if (t.channels() != s.channels() || t.stride() != s.stride()) {
                    throw invalid("logits: teacher " + context.teacher().network() + " " + t + " and student " + context.student().network() + " " + s
                            + " must have the same classes and stride");
                }
                p.add(MaskdModule.LOGIT_TOKENS, new Shape(o.tokens(), t.channels()), Init.normal(TOKEN_STD));
            }
            for (int j = 0; j < o.stages().size(); j++) {
                int stage = o.stages().get(j);
                TapSpec t = feature(context.teacher(), stage, "teacher"), s = feature(context.student(), stage, "student");
                if (t.stride() != s.stride()) {
                    throw invalid("stage " + stage + ": teacher " + context.teacher().network() + " " + t + " and student " + context.student().network()
                            + " " + s + " differ in spatial size");
                }
                MaskdModule.Level level = new MaskdModule.Level(j, stage, t.channels(), s.channels());
                int ct = t.channels(), tokens = o.featureTokens();
                p.add(level.token(), new Shape(tokens, ct), Init.normal(TOKEN_STD));
                if (o.weightMask()) {
                    // the official init_weights: fan-out He normal, zero bias
                    p.add(level.prob(0) + ".weight", new Shape(ct, ct, 3, 3), Init.kaimingNormalFanOut(9L * ct));
                    p.add(level.prob(0) + ".bias", new Shape(ct), Init.zeros());
                    p.add(level.prob(2) + ".weight", new Shape(tokens, ct, 1, 1), Init.kaimingNormalFanOut(tokens));
                    p.add(level.prob(2) + ".bias", new Shape(tokens), Init.zeros());
                }
                // mmrazor's align module: nn.Conv2d(C_s, C_t, 1) with PyTorch's default init
                p.add(level.align() + ".weight", new Shape(ct, s.channels(), 1, 1), Init.pytorchDefault(s.channels()));
                p.add(level.align() + ".bias", new Shape(ct), Init.pytorchDefault(s.channels()));
                levels.add(level);
            }
            p.buffer(MaskdModule.PREPARED, new Shape(1), Init.zeros());
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return new MaskdModule(this, p, o, levels);
    }

    private TapSpec feature(TapLayout layout, int stage, String side) {
        if (stage > layout.stages()) {
            throw invalid("stages: " + side + " " + layout.network() + " has " + layout.stages() + " stages, so stage " + stage + " does not exist");
        }
        return layout.require(TapNames.features(stage));
    }
}
