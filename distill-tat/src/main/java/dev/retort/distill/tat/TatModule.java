package dev.retort.distill.tat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConvBn;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The built TaT module: per distilled stage s, the terms {@code tat.s<s>.patchgroup} (weight α·β_s) and
 * {@code tat.s<s>.anchor} (weight α·γ_a,s), each the mean over the batch of the per-image values in
 * {@code perimage} mode, the batch's value in {@code batched} mode.
 *
 * <p>Parameters keep the official names of one {@code distiller_tat.Distiller} behind a stage prefix:
 * {@code stage<s>.embed_{query,key,value}.conv2d.weight} and {@code .norm.{weight,bias,running_mean,running_var}}.
 * The probe receives {@code tat.s<s>.q}, {@code .k}, {@code .v} (the embeddings, whole batch), {@code .patchgroup} and
 * {@code .anchor} (per image in {@code perimage} mode), {@code .loss_per_image} ({@code perimage}) and {@code .loss}.
 */
final class TatModule implements DistillationModule {
    static final String QUERY = "embed_query";
    static final String KEY = "embed_key";
    static final String VALUE = "embed_value";

    private final TatDistiller distiller;
    private final ParameterSet params;
    private final int[] stageNumbers;
    private final boolean keyEmbedding;
    private TatDistiller.Options options;

    TatModule(TatDistiller distiller, ParameterSet params, TatDistiller.Options options) {
        this.distiller = distiller;
        this.params = params;
        this.options = options;
        this.stageNumbers = options.stageNumbers();
        this.keyEmbedding = options.keyEmbedding();
    }

    /** Key prefix of one stage's embedding, e.g. {@code stage1.embed_query}. */
    static String prefix(int stage, String embed) {
        return "stage" + stage + "." + embed;
    }

    /** γ and φ (C_s → C_t) and, unless θ is the identity, θ (C_t → C_t): 1×1 conv without bias (PyTorch's default init) + BN. */
    static void addEmbeddings(ParameterSet params, int stage, int studentChannels, int teacherChannels, boolean keyEmbedding) {
        addEmbed(params, prefix(stage, QUERY), studentChannels, teacherChannels);
        if (keyEmbedding) addEmbed(params, prefix(stage, KEY), teacherChannels, teacherChannels);
        addEmbed(params, prefix(stage, VALUE), studentChannels, teacherChannels);
    }

    private static void addEmbed(ParameterSet params, String prefix, int in, int out) {
        params.add(prefix + ".conv2d.weight", new Shape(out, in, 1, 1), Init.pytorchDefault(in));
        ConvBn.addBatchNorm(params, prefix + ".norm", out);
    }

    /** The official {@code Embed}: BN(conv1×1(x)), batch statistics and a running-statistics update in training. */
    private NDArray embed(int stage, String embed, NDArray x, boolean training) {
        String p = prefix(stage, embed);
        return Ops.batchNorm(Ops.conv2d(x, params.get(p + ".conv2d.weight"), null, 1, 0, 1), params, p + ".norm", training);
    }

    @Override
    public String name() {
        return TatDistiller.NAME;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        for (int s : stageNumbers) taps.add(TapNames.features(s));
        return Optional.of(taps);
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        TatDistiller.Options o = options;
        List<LossTerm> terms = new ArrayList<>();
        for (TatDistiller.Stage s : o.stages()) {
            NDArray student = step.student().get(TapNames.features(s.stage()));
            NDArray teacher = step.teacher().get(TapNames.features(s.stage())).stopGradient();  // the official f_t.detach()
            Shape ss = student.getShape(), ts = teacher.getShape();
            if (ss.get(0) != ts.get(0) || ss.get(2) != ts.get(2) || ss.get(3) != ts.get(3)) {
                throw new RetortConfigException("tat stage " + s.stage() + ": student map " + ss + " and teacher map " + ts
                        + " differ in batch or spatial size");
            }
            String name = "tat.s" + s.stage() + ".";
            NDArray patchGroup, anchor;
            if (o.perImage() && step.training()) {
                checkStatistics(s.stage(), "perimage", ss.get(2) * ss.get(3));
                NDList q = new NDList(), k = new NDList(), v = new NDList(), pg = new NDList(), an = new NDList();
                for (int b = 0; b < ss.get(0); b++) {
                    NDIndex image = new NDIndex("{}:{}", b, b + 1);
                    NDArray fs = student.get(image), ft = teacher.get(image);
                    Terms t = terms(s, fs, ft, true);
                    q.add(t.q);
                    k.add(t.k);
                    v.add(t.v);
                    pg.add(t.patchGroup);
                    an.add(t.anchor);
                }
                patchGroup = NDArrays.stack(pg);
                anchor = NDArrays.stack(an);
                if (step.probe() != Probe.NONE) {  // the whole batch's embeddings only for someone who records them
                    step.record(name + "q", NDArrays.concat(q));
                    step.record(name + "k", NDArrays.concat(k));
                    step.record(name + "v", NDArrays.concat(v));
                }
            } else {
                if (step.training()) checkStatistics(s.stage(), "batched", ss.get(0) * ss.get(2) * ss.get(3));
                Terms t = terms(s, student, teacher, step.training());
                step.record(name + "q", t.q);
                step.record(name + "k", t.k);
                step.record(name + "v", t.v);
                patchGroup = t.patchGroup;
                anchor = t.anchor;
            }
            step.record(name + "patchgroup", patchGroup);
            step.record(name + "anchor", anchor);
            NDArray perImage = Scalars.mul(patchGroup, s.beta()).add(Scalars.mul(anchor, s.gamma()));
            if (patchGroup.getShape().dimension() > 0) step.record(name + "loss_per_image", perImage);
            step.record(name + "loss", perImage.mean());
            // The per-image values are averaged, as train_with_distillation_tat.py averages the per-image sum over the batch.
            terms.add(new LossTerm(name + "patchgroup", o.weight() * s.beta(), patchGroup.mean()));
            terms.add(new LossTerm(name + "anchor", o.weight() * s.gamma(), anchor.mean()));
        }
        return terms;
    }

    private static void checkStatistics(int stage, String mode, long values) {
        if (values < 2) {
            throw new RetortConfigException("tat stage " + stage + ": " + mode + " BatchNorm needs more than one value per channel, the map has "
                    + values + " (a larger input, or batch_norm = batched with a batch > 1)");
        }
    }

    private record Terms(NDArray q, NDArray k, NDArray v, NDArray patchGroup, NDArray anchor) {}

    /** The official {@code distillation_loss_all} on one batch (a single image in perimage mode): the two unweighted terms. */
    private Terms terms(TatDistiller.Stage s, NDArray student, NDArray teacher, boolean training) {
        NDArray q = embed(s.stage(), QUERY, student, training);
        NDArray k = keyEmbedding ? embed(s.stage(), KEY, teacher, training) : teacher;
        NDArray v = embed(s.stage(), VALUE, student, training);
        NDArray patchGroup = TatAttention.patchGroup(q, k, v, teacher, s.n(), s.m(), s.heads(), s.stage());
        NDArray anchor = TatAttention.anchorPoint(q, k, v, teacher, s.anchorH(), s.anchorW(), s.stage());
        return new Terms(q, k, v, patchGroup, anchor);
    }

    /** The weight, the per-stage grids, groups, anchors, β, γ_a and the BatchNorm mode apply in place; stages and θ change the parameters. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        TatDistiller.Options next = distiller.options(context);
        if (!Arrays.equals(next.stageNumbers(), stageNumbers)) {
            return Reconfiguration.rebuild("stages " + Arrays.toString(stageNumbers) + " -> " + Arrays.toString(next.stageNumbers())
                    + " changes the parameter set");
        }
        if (next.keyEmbedding() != keyEmbedding) {
            return Reconfiguration.rebuild("key_embedding " + keyEmbedding + " -> " + next.keyEmbedding() + " changes the parameter set");
        }
        List<String> changes = new ArrayList<>();
        if (next.weight() != options.weight()) changes.add("weight " + options.weight() + " -> " + next.weight());
        if (next.perImage() != options.perImage()) {
            changes.add("batch_norm " + mode(options) + " -> " + mode(next));
        }
        for (int i = 0; i < stageNumbers.length; i++) {
            if (!next.stages()[i].equals(options.stages()[i])) changes.add(options.stages()[i].describe() + " -> " + next.stages()[i].describe());
        }
        options = next;
        return Reconfiguration.applied(String.join("; ", changes));
    }

    private static String mode(TatDistiller.Options o) {
        return o.perImage() ? TatDistiller.PER_IMAGE : TatDistiller.BATCHED;
    }

    @Override
    public void close() {
        params.close();
    }
}
