package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import dev.retort.nn.Scalars;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * AdamW as PyTorch's {@code torch.optim.AdamW} (betas 0.9/0.999, eps 1e-8, decoupled weight decay, bias
 * correction), over parameters named by checkpoint key. Parameters may join or leave between steps (module swaps):
 * a joining parameter starts with zero moments and its own step count.
 */
final class AdamW {
    static final float BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f;

    private final NDManager manager;
    private final double weightDecay;
    private final Map<String, NDArray> m = new HashMap<>();
    private final Map<String, NDArray> v = new HashMap<>();
    private final Map<String, Long> t = new HashMap<>();
    private Map<String, Parameter> params = new LinkedHashMap<>();

    AdamW(NDManager manager, double weightDecay) {
        this.manager = manager;
        this.weightDecay = weightDecay;
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
            if (!next.containsKey(gone) && !keep.contains(gone)) {
                close(m.remove(gone));
                close(v.remove(gone));
                t.remove(gone);
            }
        }
        params = next;
    }

    Map<String, Parameter> parameters() {
        return params;
    }

    /**
     * One update with learning rate {@code lr}. A parameter that has taken part in no step yet (its gradient has been
     * exactly zero everywhere, e.g. CSF's BatchNorm-free {@code fc1} branch, used only for a batch of one) is left alone,
     * weight decay included, as PyTorch leaves a parameter whose {@code .grad} is still None; from its first non-zero
     * gradient on it is updated at every step, as PyTorch updates one whose gradient was zeroed.
     */
    void step(double lr) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String key = e.getKey();
            NDArray w = e.getValue().getArray();
            if (!w.hasGradient()) continue;
            if (!m.containsKey(key) && !touched(w)) continue;
            NDArray mk = m.computeIfAbsent(key, k -> zerosLike(w)), vk = v.computeIfAbsent(key, k -> zerosLike(w));
            long step = t.merge(key, 1L, Long::sum);
            // Every temporary (and this step's handle on the gradient, whose storage stays the parameter's) is
            // attached to a scratch manager, so nothing accumulates across steps.
            try (NDManager scratch = manager.newSubManager()) {
                NDArray g = w.getGradient();
                g.attach(scratch);
                Scalars.muli(mk, BETA1).addi(Scalars.mul(g, 1 - BETA1));
                Scalars.muli(vk, BETA2).addi(Scalars.muli(g.square(), 1 - BETA2));
                double bias1 = 1 - Math.pow(BETA1, step), bias2 = 1 - Math.pow(BETA2, step);
                Scalars.muli(w, (float) (1 - lr * weightDecay));
                NDArray denom = vk.sqrt();
                denom.attach(scratch);
                Scalars.addi(Scalars.divi(denom, (float) Math.sqrt(bias2)), EPS);
                NDArray update = mk.div(denom);
                update.attach(scratch);
                w.subi(Scalars.muli(update, (float) (lr / bias1)));
            }
        }
    }

    /** Whether a parameter's gradient is non-zero somewhere (it took part in the step). */
    private boolean touched(NDArray w) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray g = w.getGradient();
            g.attach(scratch);
            NDArray any = g.abs().max();
            any.attach(scratch);
            return any.getFloat() != 0f;
        }
    }

    /** Parameters whose gradient holds NaN or infinite values (an update with them would poison the weights). */
    List<String> nonFiniteGradients() {
        List<String> bad = new ArrayList<>();
        try (NDManager scratch = manager.newSubManager()) {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray w = e.getValue().getArray();
                if (!w.hasGradient()) continue;
                NDArray g = w.getGradient();
                g.attach(scratch);
                if (g.isNaN().logicalOr(g.isInfinite()).any().getBoolean()) bad.add(e.getKey());
            }
        }
        return bad;
    }

    /** Zeroes every gradient in place (NaN-safe: fills rather than multiplies). */
    void zeroGradients() {
        try (NDManager scratch = manager.newSubManager()) {
            for (Parameter p : params.values()) {
                NDArray w = p.getArray();
                if (!w.hasGradient()) continue;
                NDArray g = w.getGradient();
                g.attach(scratch);  // the handle and the scalar set() creates are released with the scratch manager
                g.set(new NDIndex("..."), 0f);
            }
        }
    }

    /** Releases the state of these parameters (their module is gone: a module built anew starts from zero moments). */
    void release(Collection<String> keys) {
        for (String k : keys) {
            close(m.remove(k));
            close(v.remove(k));
            t.remove(k);
        }
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
        close(m.put(key, manager.create(first, w.getShape())));
        close(v.put(key, manager.create(second, w.getShape())));
        t.put(key, steps);
    }

    private NDArray zerosLike(NDArray w) {
        return manager.zeros(w.getShape(), w.getDataType(), w.getDevice());
    }

    private static void close(NDArray a) {
        if (a != null) a.close();
    }
}
