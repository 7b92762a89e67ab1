package dev.retort.distill.tat;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.StagePair;
import dev.retort.distill.support.Structural;
import dev.retort.nn.ParameterSet;
import java.util.Arrays;
import java.util.Locale;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * TaT, Knowledge Distillation via the Target-aware Transformer (Lin et al., CVPR 2022), as its segmentation code
 * ({@code distiller_tat.py} of TaT-seg) computes it, once per chosen MiT stage: the student map is reconfigured by
 * an attention whose queries γ(student) meet keys θ(teacher), with values φ(student), and regressed onto the raw
 * teacher map; in patch groups (local) and over average-pooled anchors (global), β·patch-group + γ_a·anchor.
 */
@Component(service = Distiller.class, configurationPid = TatDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + TatDistiller.NAME)
@Designate(ocd = TatDistiller.Config.class)
public class TatDistiller extends ConfiguredDistiller<TatDistiller.Options> {
    static final String NAME = "tat";
    static final String PID = "dev.retort.distill.tat";
    static final String PER_IMAGE = "perimage";
    static final String BATCHED = "batched";

    @ObjectClassDefinition(name = "Retort TaT (target-aware transformer)",
            description = "Defaults of the TaT module; per-stage lists give one value per network stage 1..n, and stages chooses which are distilled")
    public @interface Config {
        @AttributeDefinition(description = "Stages distilled (1-based), e.g. 1,2,3,4 or 3,4")
        @Structural("changes the parameter set")
        String stages() default "1,2,3,4";

        @AttributeDefinition(description = "Patch grid n×m per stage (the official n, m: patch counts; patch size = floor(h/n)×floor(w/m), "
                + "remainder rows and columns dropped); 1x1 is full TaT over the map")
        String patchGrids() default "4x8,2x4,1x1,1x1";

        @AttributeDefinition(description = "Patch groups per stage (the official heads): the n·m patches, stacked into channels, split into this many contiguous groups")
        String heads() default "8,4,1,1";

        @AttributeDefinition(description = "Anchor grid per stage (the official anchor_h×anchor_w: average-pooling kernel = floor(h/anchor_h)×floor(w/anchor_w))")
        String anchors() default "4x8,4x4,2x4,1x2";

        @AttributeDefinition(description = "β per stage: weight of the patch-group term")
        String betas() default "1.0,1.0,0.5,1.0";

        @AttributeDefinition(description = "γ_a per stage: weight of the anchor-point term (the official gamma)")
        String gammas() default "0.4,0.5,1.0,0.0";

        @AttributeDefinition(description = "BatchNorm of the embeddings in training: batched (one normalisation over the batch) or perimage "
                + "(the official loop over the images: each normalised alone, running statistics updated once per image)")
        String batchNorm() default BATCHED;

        @AttributeDefinition(description = "θ (the key embedding of the teacher map) as a 1×1 conv + BN, as the segmentation code; false: identity, as the ImageNet code")
        @Structural("changes the parameter set")
        boolean keyEmbedding() default true;

        @AttributeDefinition(description = "Loss weight α of the whole TaT loss (Σ over stages)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** One distilled stage: grid n×m, groups, anchor grid, β, γ_a. */
    record Stage(int stage, int n, int m, int heads, int anchorH, int anchorW, double beta, double gamma) {}

    /** A grid of n×m cells, written {@code 4x8}. */
    record Grid(int n, int m) {
        @Override
        public String toString() {
            return n + "x" + m;
        }
    }

    /**
     * What a build reads: the per-stage lists give one value per network stage 1..n (each distilled stage has one).
     *
     * @param stages       the distilled stages, in the configured order
     * @param batchNorm    {@value #BATCHED} or {@value #PER_IMAGE} (the official per-image BatchNorm)
     * @param keyEmbedding θ as conv + BN; false: identity
     */
    public record Options(int[] stages, Grid[] patchGrids, int[] heads, Grid[] anchors, double[] betas, double[] gammas, String batchNorm,
                          boolean keyEmbedding, double weight) {
        boolean perImage() {
            return batchNorm.equals(PER_IMAGE);
        }

        /** The distilled stages with their values, in the order of {@code stages}. */
        Stage[] distilled() {
            return Arrays.stream(stages).mapToObj(st -> new Stage(st, patchGrids[st - 1].n(), patchGrids[st - 1].m(), heads[st - 1],
                    anchors[st - 1].n(), anchors[st - 1].m(), betas[st - 1], gammas[st - 1])).toArray(Stage[]::new);
        }
    }

    public TatDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        int[] stages = v.integers("stages");
        if (stages.length == 0) throw v.invalid("no stages to distill");
        Grid[] grids = grids(v, "patch_grids");
        int[] heads = v.integers("heads");
        Grid[] anchors = grids(v, "anchors");
        double[] betas = v.reals("betas");
        double[] gammas = v.reals("gammas");
        for (int h : heads) if (h < 1) throw v.error("heads", "a list of integers >= 1", v.raw("heads"));
        for (double b : betas) if (b < 0) throw v.error("betas", "a list of numbers >= 0", v.raw("betas"));
        for (double g : gammas) if (g < 0) throw v.error("gammas", "a list of numbers >= 0", v.raw("gammas"));
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            for (int j = 0; j < i; j++) if (stages[j] == st) throw v.error("stages", "a list of distinct stages", v.raw("stages"));
            if (st < 1) throw v.error("stages", "a list of stages >= 1", v.raw("stages"));
            require(v, st, "patch_grids", grids.length);
            require(v, st, "heads", heads.length);
            require(v, st, "anchors", anchors.length);
            require(v, st, "betas", betas.length);
            require(v, st, "gammas", gammas.length);
        }
        String bn = String.valueOf(v.raw("batch_norm")).trim().toLowerCase(Locale.ROOT);
        if (!bn.equals(PER_IMAGE) && !bn.equals(BATCHED)) throw v.error("batch_norm", BATCHED + " or " + PER_IMAGE, v.raw("batch_norm"));
        return new Options(stages, grids, heads, anchors, betas, gammas, bn, v.bool("key_embedding"), v.real("weight", 0, Double.MAX_VALUE));
    }

    private static void require(ConfigValues v, int stage, String key, int length) {
        if (stage > length) {
            throw v.invalid("stage " + stage + " has no value in " + key + " (" + v.raw(key) + " covers stages 1.." + length + ")");
        }
    }

    /** "4x8,2x4" → 4×8, 2×4; each count >= 1. */
    private static Grid[] grids(ConfigValues v, String key) {
        String raw = String.valueOf(v.raw(key)).trim();
        if (raw.isEmpty()) throw v.error(key, "a list of grids such as 4x8,2x4,1x1,1x1", raw);
        String[] items = raw.split(",");
        Grid[] grids = new Grid[items.length];
        for (int i = 0; i < items.length; i++) {
            String[] hw = items[i].trim().toLowerCase(Locale.ROOT).split("x", -1);
            try {
                if (hw.length != 2) throw new NumberFormatException();
                grids[i] = new Grid(Integer.parseInt(hw[0].trim()), Integer.parseInt(hw[1].trim()));
            } catch (NumberFormatException e) {
                throw v.error(key, "a list of grids such as 4x8,2x4,1x1,1x1", raw);
            }
            if (grids[i].n() < 1 || grids[i].m() < 1) throw v.error(key, "a list of grids of counts >= 1", raw);
        }
        return grids;
    }

    @Override
    public String description() {
        Options o = configured();
        return "target-aware transformer (patch groups + anchors), stages " + configuredValue("stages") + ", "
                + (o.perImage() ? "per-image" : "batched") + " BatchNorm, θ " + (o.keyEmbedding() ? "conv+BN" : "identity") + ", weight " + o.weight();
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        ParameterSet params = new ParameterSet(context.manager(), context.seed());
        for (Stage s : o.distilled()) {
            StagePair pair = StagePair.features(context, NAME, s.stage(), "; TaT attends between positions of the same map size");
            TatModule.addEmbeddings(params, s.stage(), pair.student().channels(), pair.teacher().channels(), o.keyEmbedding());
        }
        return new TatModule(this, params, o);
    }
}
