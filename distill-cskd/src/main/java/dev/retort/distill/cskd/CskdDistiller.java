package dev.retort.distill.cskd;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.LinearProjection;
import dev.retort.distill.support.Structural;
import dev.retort.nn.ParameterSet;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * CSKD, Cumulative Spatial Knowledge Distillation (Zhao, Song, Liang; ICCV 2023), as its {@code CSKDLoss} computes
 * it: every position of the student's dense response is supervised by the teacher's response there, fused with the
 * teacher's global response as training progresses, Z = α·dense + (1 − α)·global with α = g(progress) decaying from
 * 1 (Cumulative Knowledge Fusion); hard CE on argmax Z or soft KL. Two placements on a segmentation pair: a linear
 * probe head on a student stage's tokens against the teacher's logits pooled to that grid ({@code probe}, the
 * paper's dense patch-token head), or the student's logits themselves ({@code logits}).
 */
@Component(service = Distiller.class, configurationPid = CskdDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + CskdDistiller.NAME)
@Designate(ocd = CskdDistiller.Config.class)
public class CskdDistiller extends ConfiguredDistiller<CskdDistiller.Options> {
    static final String NAME = "cskd";
    static final String PID = "dev.retort.distill.cskd";

    /** Where the student's dense response comes from. */
    enum Variant { PROBE, LOGITS }

    /** The official decay functions g(x) of α, x the progress in [0, 1]. */
    enum Decay {
        LINEAR, X2, COS;

        double apply(double x) {
            return switch (this) {
                case LINEAR -> 1 - x;
                case X2 -> (1 - x) * (1 - x);
                case COS -> Math.cos(Math.PI * 0.5 * x);
            };
        }
    }

    /** hard: cross-entropy against argmax Z; soft: KL with temperature. */
    enum Loss { HARD, SOFT }

    /** Which fraction of training is the progress x: the official epochs done / epochs (e/E), or steps done / steps. */
    enum Progress { EPOCH, STEP }

    @ObjectClassDefinition(name = "Retort CSKD (cumulative spatial knowledge distillation)", description = "Defaults of the CSKD module")
    public @interface Config {
        @AttributeDefinition(description = "probe: a linear head on the student's tokens of stage 'stage' against the teacher's logits average-pooled "
                + "(ceil mode) to that grid; logits: the student's logits against the teacher's, no parameters")
        @Structural("changes the parameter set")
        String variant() default "probe";

        @AttributeDefinition(description = "Student stage of the probe head (probe variant)")
        @Structural("changes the probe head's input")
        int stage() default 4;

        @AttributeDefinition(description = "Decay g of the fusion weight α = g(x): linear 1 − x, x2 (1 − x)², cos cos(πx/2) (the official names)")
        String decay() default "linear";

        @AttributeDefinition(description = "Floor of α: α = max(alpha_min, g(x)); 0 is the official schedule, 1 switches the fusion off (dense targets only)")
        double alphaMin() default 0.0;

        @AttributeDefinition(description = "Progress x: epoch = (epoch − 1)/epochs, the official e/E with 0-based e (α changes once per epoch); "
                + "step = steps done / steps (α changes every step)")
        String progress() default "epoch";

        @AttributeDefinition(description = "hard: cross-entropy against argmax Z, mean over positions; soft: KL(softmax(Z/τ) ‖ softmax(S/τ))·τ², summed over positions, / batch")
        String loss() default "hard";

        @AttributeDefinition(description = "Temperature τ of the soft loss (the official deit_tau)")
        double temperature() default 1.0;

        @AttributeDefinition(description = "Loss weight λ (the official cksd_loss_weight)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads. */
    public record Options(Variant variant, int stage, Decay decay, double alphaMin, Progress progress, Loss loss, double temperature, double weight) {
        boolean soft() {
            return loss == Loss.SOFT;
        }

        /** α at progress x ∈ [0, 1]. */
        double alpha(double x) {
            return Math.max(alphaMin, decay.apply(x));
        }

        String describe() {
            return (variant == Variant.PROBE ? "stage-" + stage + " probe" : "logits") + ", " + name(decay) + " decay" + (alphaMin > 0 ? " floored at " + alphaMin : "")
                    + " per " + name(progress) + ", " + (soft() ? "soft (τ " + temperature + ")" : "hard") + ", weight " + weight;
        }
    }

    public CskdDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(choice(v, "variant", Variant.class), v.integer("stage", 1), choice(v, "decay", Decay.class), v.real("alpha_min", 0, 1),
                choice(v, "progress", Progress.class), choice(v, "loss", Loss.class), v.positive("temperature"),
                v.real("weight", 0, Double.MAX_VALUE));
    }

    private static <E extends Enum<E>> E choice(ConfigValues v, String key, Class<E> type) {
        List<String> names = Arrays.stream(type.getEnumConstants()).map(CskdDistiller::name).toList();
        return Enum.valueOf(type, choice(v, key, names).toUpperCase(Locale.ROOT));
    }

    private static String choice(ConfigValues v, String key, List<String> allowed) {
        String s = String.valueOf(v.raw(key)).trim().toLowerCase(Locale.ROOT);
        if (!allowed.contains(s)) throw v.error(key, "one of " + String.join(", ", allowed), v.raw(key));
        return s;
    }

    static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** The probe's stage matters to the probe variant only. */
    @Override
    protected boolean uses(String runKey, Options options) {
        return !runKey.equals("stage") || options.variant() == Variant.PROBE;
    }

    @Override
    public String description() {
        return "cumulative spatial KD: " + configured().describe();
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        TapSpec teacher = context.teacher().require(TapNames.LOGITS);
        ParameterSet params = new ParameterSet(context.manager(), context.seed());
        int studentStride = teacher.stride();
        if (o.variant() == Variant.PROBE) {
            TapSpec student = context.student().require(TapNames.features(o.stage()));
            if (student.stride() % teacher.stride() != 0) {
                throw invalid("the stride of student " + context.student().network() + " " + student + " is not a multiple of teacher "
                        + context.teacher().network() + " " + teacher + "'s, so its logits cannot be pooled to the stage's grid");
            }
            // DeiT's distillation head: an nn.Linear (default init) from the tokens to the classes.
            LinearProjection.add(params, CskdModule.HEAD, student.channels(), teacher.channels(), true);
            studentStride = student.stride();
        } else {
            TapSpec student = context.student().require(TapNames.LOGITS);
            if (student.channels() != teacher.channels() || student.stride() != teacher.stride()) {
                throw invalid("student " + context.student().network() + " " + student + " and teacher " + context.teacher().network() + " " + teacher
                        + " must have the same classes and stride");
            }
        }
        return new CskdModule(this, params, o, studentStride / teacher.stride());
    }
}
