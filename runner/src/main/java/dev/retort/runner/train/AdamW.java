package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import dev.retort.nn.HostTransfers;
import dev.retort.nn.MultiTensor;
import dev.retort.nn.Scalars;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * AdamW as PyTorch's {@code torch.optim.AdamW} (decoupled weight decay, bias correction, amsgrad off; betas
 * 0.9/0.999 and eps 1e-8 unless told otherwise), over parameters named by checkpoint key. Parameters may join or leave
 * between steps (module swaps): a joining parameter starts with zero moments and its own step count.
 *
 * <p>A step is three native calls for all parameters: the flags it reads with the loss ({@link #flags}), which take part
 * ({@link MultiTensor#takingPart}, from the flags as read), then PyTorch's
 * multi-tensor AdamW ({@link MultiTensor#adamw}, what {@code torch.optim.AdamW(foreach=True)}
 * runs), operation for operation, so that it follows PyTorch's trajectories. The finite check of the gradients is one flag computed on the device
 * and read once; the offenders are named only when it says there are some. Zeroing is one call too.
 */
final class AdamW {
    /** How an update runs. */
    enum Kernel {
        /** All parameters in one call of PyTorch's multi-tensor AdamW; one finite flag; one zeroing call. */
        MULTI_TENSOR,
        /**
         * The former route, kept as the benchmarks' baseline: ~18 DJL operations per parameter, a host read of a finite
         * check per gradient, a zeroing {@code set} per gradient.
         */
        PER_OPERATION
    }

    /** The kernel new optimizers use ({@code OptimizerBench} times both in one process). */
    static volatile Kernel kernel = Kernel.MULTI_TENSOR;

    private final NDManager manager;
    private final double weightDecay, beta1, beta2, eps;
    private final Kernel route = kernel;
    private final Map<String, NDArray> m = new HashMap<>();
    private final Map<String, NDArray> v = new HashMap<>();
    /** Step counts: host numbers (the update takes its bias corrections from them; checkpoints keep them). */
    private final Map<String, Long> t = new HashMap<>();
    private Map<String, Parameter> params = new LinkedHashMap<>();

    AdamW(NDManager manager, double weightDecay) {
        this(manager, weightDecay, 0.9, 0.999, 1e-8);
    }

    AdamW(NDManager manager, double weightDecay, double beta1, double beta2, double eps) {
        this.manager = manager;
        this.weightDecay = weightDecay;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /** Sets the trainable parameters; state of parameters no longer present is released. */
    void parameters(Map<String, Parameter> all) {
        parameters(all, Set.of());
    }

    /**
     * Sets the trainable parameters; state of parameters no longer present is released, except for the keys in
     * {@code keep} (a module left out for now, whose moments continue when it returns).
     */
    void parameters(Map<String, Parameter> all, Set<String> keep) {
        Map<String, Parameter> next = new LinkedHashMap<>();
        all.forEach((k, p) -> {
            if (p.requiresGradient()) next.put(k, p);
        });
        for (String gone : params.keySet()) {
            if (!next.containsKey(gone) && !keep.contains(gone)) forget(gone);
        }
        params = next;
    }

    Map<String, Parameter> parameters() {
        return params;
    }

    /**
     * One update with learning rate {@code lr}. A parameter that has taken part in no step yet (its gradient undefined,
     * or exactly zero everywhere, e.g. CSF's BatchNorm-free {@code fc1} branch, used only for a batch of one) is left
     * alone, weight decay included, as PyTorch leaves a parameter whose {@code .grad} is still None; from its first
     * non-zero gradient on (it then has state) it is updated at every step, as PyTorch updates one whose gradient was zeroed.
     */
    void step(double lr) {
        if (route == Kernel.PER_OPERATION) {
            stepPerOperation(lr);
            return;
        }
        try (NDManager scratch = manager.newSubManager()) {
            Flags flags = flags(scratch);
            step(lr, flags, flags.array() == null ? new float[0] : HostTransfers.floats(flags.array()), 0);
        }
    }

    /**
     * What a step reads of the optimizer, with its loss terms, in its one read: the all-finite flag over every gradient
     * and the non-zero flags of the parameters that have no state yet ({@link MultiTensor#stepFlags}), as one float32
     * array on the device, or null where there is nothing to read (no parameters; the per-operation route, which reads
     * its own flags parameter by parameter).
     *
     * @param known which parameters, in {@link #parameters()}' order, had state when the flags were computed
     */
    record Flags(NDArray array, boolean[] known) {}

    /** The step's flags, computed on the device after the backward; nothing is read. */
    Flags flags(NDManager into) {
        boolean[] known = new boolean[params.size()];
        int i = 0;
        for (String key : params.keySet()) known[i++] = m.containsKey(key);
        if (route == Kernel.PER_OPERATION || params.isEmpty()) return new Flags(null, known);
        return new Flags(MultiTensor.stepFlags(arrays(), known, into), known);
    }

    /** Whether every gradient is finite, from the flags as read ({@code read[offset]} onwards). */
    boolean allFinite(Flags flags, float[] read, int offset) {
        if (flags.array() == null) return route != Kernel.PER_OPERATION || nonFiniteGradients().isEmpty();
        return read[offset] != 0f;
    }

    /**
     * One update with learning rate {@code lr}, given the flags as the step read them ({@code read[offset]} onwards):
     * the parameters taking part are known from them, so the update reads nothing.
     */
    void step(double lr, Flags flags, float[] read, int offset) {
        if (route == Kernel.PER_OPERATION) {
            stepPerOperation(lr);
            return;
        }
        if (flags.array() == null) return;
        List<String> all = new ArrayList<>(params.keySet());
        boolean[] nonzero = new boolean[(int) flags.array().size() - 1];
        for (int j = 0; j < nonzero.length; j++) nonzero[j] = read[offset + 1 + j] != 0f;
        long[] part = MultiTensor.takingPart(arrays(), flags.known(), nonzero);
        List<NDArray> ws = new ArrayList<>(part.length), ms = new ArrayList<>(part.length), vs = new ArrayList<>(part.length);
        double[] steps = new double[part.length];
        for (int i = 0; i < part.length; i++) {
            String key = all.get((int) part[i]);
            NDArray w = params.get(key).getArray();
            ws.add(w);
            ms.add(m.computeIfAbsent(key, k -> zerosLike(w)));
            vs.add(v.computeIfAbsent(key, k -> zerosLike(w)));
            steps[i] = t.getOrDefault(key, 0L) + 1;
        }
        MultiTensor.adamw(ws, ms, vs, steps, lr, beta1, beta2, weightDecay, eps);
        for (long i : part) t.merge(all.get((int) i), 1L, Long::sum);
    }

    /**
     * A one-element boolean array on the device, true when every gradient is finite; nothing is read (a caller may
     * stack it with the loss terms into the step's one read).
     */
    NDArray allFiniteGradients(NDManager into) {
        return MultiTensor.allFiniteGradients(arrays(), into);
    }

    /**
     * Parameters whose gradient holds NaN or infinite values (an update with them would poison the weights): one read
     * of one flag; the per-parameter flags are read only when it is false.
     */
    List<String> nonFiniteGradients() {
        List<String> bad = new ArrayList<>();
        if (params.isEmpty()) return bad;
        if (route == Kernel.PER_OPERATION) {
            try (NDManager scratch = manager.newSubManager()) {
                for (Map.Entry<String, Parameter> e : params.entrySet()) {
                    NDArray g = e.getValue().getArray().getGradient();
                    g.attach(scratch);
                    if (HostTransfers.bool(g.isNaN().logicalOr(g.isInfinite()).any())) bad.add(e.getKey());
                }
            }
            return bad;
        }
        try (NDManager scratch = manager.newSubManager()) {
            if (HostTransfers.bool(allFiniteGradients(scratch))) return bad;
        }
        return offenders();
    }

    /**
     * The parameters whose gradient holds NaN or infinite values, once a step's flags said there are some: the
     * per-parameter flags read in one copy (on the per-operation route, its own check parameter by parameter).
     */
    List<String> offenders() {
        if (route == Kernel.PER_OPERATION || params.isEmpty()) return nonFiniteGradients();
        List<String> bad = new ArrayList<>();
        try (NDManager scratch = manager.newSubManager()) {
            boolean[] finite = HostTransfers.booleans(MultiTensor.finiteGradients(arrays(), scratch));
            int i = 0;
            for (String key : params.keySet()) if (!finite[i++]) bad.add(key);
        }
        return bad;
    }

    /** Zeroes every gradient in place (NaN-safe: fills rather than multiplies), in one call. */
    void zeroGradients() {
        if (route == Kernel.PER_OPERATION) {
            try (NDManager scratch = manager.newSubManager()) {
                for (Parameter p : params.values()) {
                    NDArray g = p.getArray().getGradient();
                    g.attach(scratch);
                    HostTransfers.set(g, new NDIndex("..."), 0f);
                }
            }
            return;
        }
        MultiTensor.zeroGradients(arrays());
    }

    /** {@link Kernel#PER_OPERATION}: the same update, operation by operation through DJL (the benchmarks' baseline). */
    private void stepPerOperation(double lr) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String key = e.getKey();
            NDArray w = e.getValue().getArray();
            if (!m.containsKey(key) && !touched(w)) continue;
            NDArray mk = m.computeIfAbsent(key, k -> zerosLike(w)), vk = v.computeIfAbsent(key, k -> zerosLike(w));
            long step = t.merge(key, 1L, Long::sum);
            try (NDManager scratch = manager.newSubManager()) {
                NDArray g = w.getGradient();
                g.attach(scratch);
                Scalars.muli(mk, beta1).addi(Scalars.mul(g, 1 - beta1));
                Scalars.muli(vk, beta2).addi(Scalars.muli(g.square(), 1 - beta2));
                double bias1 = 1 - Math.pow(beta1, step), bias2 = 1 - Math.pow(beta2, step);
                Scalars.muli(w, (float) (1 - lr * weightDecay));
                NDArray denom = vk.sqrt();
                denom.attach(scratch);
                Scalars.addi(Scalars.divi(denom, (float) Math.sqrt(bias2)), eps);
                NDArray update = mk.div(denom);
                update.attach(scratch);
                w.subi(Scalars.muli(update, (float) (lr / bias1)));
            }
        }
    }

    /** Releases the state of these parameters (their module is gone: a module built anew starts from zero moments). */
    void release(Collection<String> keys) {
        keys.forEach(this::forget);
    }

    /** Moments and step counts by parameter key, for checkpoints. */
    Map<String, NDArray> firstMoments() {
        return m;
    }

    Map<String, NDArray> secondMoments() {
        return v;
    }

    Map<String, Long> steps() {
        return t;
    }

    /** Restores state saved by a checkpoint (only for parameters currently present). */
    void restore(String key, float[] first, float[] second, long steps) {
        Parameter p = params.get(key);
        if (p == null) return;
        NDArray w = p.getArray();
        close(m.put(key, HostTransfers.upload(manager, first, w.getShape())));
        close(v.put(key, HostTransfers.upload(manager, second, w.getShape())));
        t.put(key, steps);
    }

    /** Whether a parameter's gradient is non-zero somewhere (the per-operation route's test of taking part). */
    private boolean touched(NDArray w) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray g = w.getGradient();
            g.attach(scratch);
            NDArray any = g.abs().max();
            any.attach(scratch);
            return HostTransfers.floats(any)[0] != 0f;
        }
    }

    private List<NDArray> arrays() {
        List<NDArray> ws = new ArrayList<>(params.size());
        params.values().forEach(p -> ws.add(p.getArray()));
        return ws;
    }

    private void forget(String key) {
        close(m.remove(key));
        close(v.remove(key));
        t.remove(key);
    }

    private NDArray zerosLike(NDArray w) {
        return manager.zeros(w.getShape(), w.getDataType(), w.getDevice());
    }

    private static void close(NDArray a) {
        if (a != null) a.close();
    }
}
