package dev.retort.distill.cskd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapNames;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.LinearProjection;
import dev.retort.nn.DeviceConstants;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The built CSKD module; its one term is {@code cskd.hard} or {@code cskd.soft}. The probe variant's head keeps
 * DeiT's name, {@code head_dist.weight} [classes, C_s] and {@code head_dist.bias}. The probe receives
 * {@code cskd.progress} (x), {@code cskd.alpha}, {@code cskd.teacher.dense}, {@code cskd.teacher.global}, {@code cskd.target} (Z),
 * {@code cskd.labels} (argmax Z) and, for the probe variant, {@code cskd.student.dense_logits} (B×N×classes tokens).
 * Every key but {@code variant} and the probe's {@code stage} (the head's shape) applies in place.
 */
final class CskdModule extends ConfiguredModule<CskdDistiller.Options> {
    static final String HEAD = "head_dist";

    private final int poolKernel;

    /** @param poolKernel the student map's stride over the teacher logits' (the pooling window of the probe variant) */
    CskdModule(CskdDistiller distiller, ParameterSet params, CskdDistiller.Options options, int poolKernel) {
        super(distiller, params, options);
        this.poolKernel = poolKernel;
    }

    /** The progress x ∈ [0, 1] that α decays with. */
    static double progress(CskdDistiller.Options o, TrainingProgress p) {
        return o.progress() == CskdDistiller.Progress.EPOCH ? p.epochFraction() : p.fraction();
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(Set.of(TapNames.LOGITS));
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        CskdDistiller.Options o = options();
        int stage = o.stage();
        NDArray teacherLogits = step.teacher().get(TapNames.LOGITS).stopGradient();
        NDArray student, dense, global;
        if (o.variant() == CskdDistiller.Variant.PROBE) {
            NDArray map = step.student().get(TapNames.features(stage));
            long h = map.getShape().get(2), w = map.getShape().get(3);
            // DeiT's dense head: the linear distillation head on every token (row-major), back to a B×classes×h×w map.
            NDArray tokens = LinearProjection.of(params, HEAD).forward(Ops.mapToTokens(map));
            step.record("cskd.student.dense_logits", tokens);
            student = Ops.tokensToMap(tokens, h, w);
            dense = ceilAveragePool(teacherLogits, poolKernel);
            if (dense.getShape().get(2) != h || dense.getShape().get(3) != w) {
                throw new RetortConfigException("cskd: the teacher logits " + teacherLogits.getShape() + " pooled by " + poolKernel + " give a "
                        + dense.getShape().get(2) + "x" + dense.getShape().get(3) + " grid, the student's stage " + stage + " map is " + h + "x" + w);
            }
        } else {
            student = step.student().get(TapNames.LOGITS);
            dense = teacherLogits;
            if (!student.getShape().equals(dense.getShape())) {
                throw new RetortConfigException("cskd: student logits " + student.getShape() + " and teacher logits " + dense.getShape() + " differ in shape");
            }
        }
        // The global response is the mean of the dense response the loss uses (CSKDLoss.forward).
        long b = dense.getShape().get(0), k = dense.getShape().get(1);
        global = dense.reshape(b, k, -1).mean(new int[] {2});
        double x = progress(o, step.progress());
        double alpha = o.alpha(x);
        step.record("cskd.progress", step.manager().full(new Shape(), (float) x));
        NDArray target = Scalars.mul(dense, alpha).add(Scalars.mul(global, 1 - alpha).reshape(b, k, 1, 1));
        NDArray labels = target.argMax(1);
        step.record("cskd.alpha", step.manager().full(new Shape(), (float) alpha));
        step.record("cskd.teacher.dense", dense);
        step.record("cskd.teacher.global", global);
        step.record("cskd.target", target);
        step.record("cskd.labels", labels);
        NDArray loss;
        if (o.soft()) {
            double t = o.temperature();
            NDArray pt = Scalars.div(target, t).logSoftmax(1);
            NDArray ps = Scalars.div(student, t).logSoftmax(1);
            // F.kl_div(log p_s, log p_t, reduction='sum', log_target=True)·τ²/B
            loss = Scalars.mul(pt.exp().mul(pt.sub(ps)).sum(), t * t / b);
        } else {
            loss = student.logSoftmax(1).gather(labels.expandDims(1), 1).neg().mean();
        }
        return List.of(new LossTerm(CskdDistiller.NAME + "." + (o.soft() ? "soft" : "hard"), o.weight(), loss));
    }

    /**
     * PyTorch's {@code avg_pool2d(x, k, stride k, ceil_mode=True)} with no padding: ⌈H/k⌉×⌈W/k⌉ windows, a partial
     * last window averaging only the elements inside the map. Computed as P_h·X·P_wᵀ with window-averaging matrices.
     */
    static NDArray ceilAveragePool(NDArray x, int k) {
        if (k == 1) return x;
        Shape s = x.getShape();
        int h = (int) s.get(2), w = (int) s.get(3);
        NDArray pw = window(w, k, x), ph = window(h, k, x);
        return ph.matMul(x.matMul(pw.transpose()));  // [oh,H]·[B,C,H,ow]
    }

    /** The [⌈L/k⌉, L] window-averaging matrix, a device constant ({@link DeviceConstants}) in {@code like}'s type. */
    private static NDArray window(int length, int k, NDArray like) {
        int bins = (length + k - 1) / k;
        return DeviceConstants.matrix("cskd-window", List.of(length, k), new Shape(bins, length), like, () -> {
            float[] m = new float[bins * length];
            for (int i = 0; i < bins; i++) {
                int start = i * k, end = Math.min(start + k, length);
                for (int j = start; j < end; j++) m[i * length + j] = 1f / (end - start);
            }
            return m;
        });
    }
}
