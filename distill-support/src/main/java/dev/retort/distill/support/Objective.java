package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.LossTerm;
import dev.retort.nn.Scalars;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The loss a step differentiates: the student's cross-entropy plus Σ weight·value over the modules' terms, composed
 * here for training, {@code kd:modules}' dry step and parity alike.
 *
 * <p>One rule for every term, weight 0 included, as {@link LossTerm} states it: the total adds weight·value. A term
 * of weight 0 adds nothing to the value and gives its parameters zero gradients (PyTorch's {@code w * loss}), and a
 * NaN or infinite term makes the total non-finite whatever its weight, so the step's guard sees it rather than
 * training on with a broken module.
 */
public final class Objective {
    /** The cross-entropy's name among a step's values. */
    public static final String CROSS_ENTROPY = "ce";
    /** The total's name among a step's values. */
    public static final String TOTAL = "total";

    private Objective() {}

    /**
     * One step's loss.
     *
     * @param total   the array to differentiate
     * @param values  each part's unweighted value in the order the step computed them: the cross-entropy first (when
     *                there is one), then each term, then {@value #TOTAL} = Σ weight·value
     * @param weights each part's weight (the cross-entropy's is 1), in the same order, without the total
     */
    public record Loss(NDArray total, Map<String, Double> values, Map<String, Double> weights) {
        public Loss {
            values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
            weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        }
    }

    /**
     * {@code crossEntropy + Σ weight·value}, added in the order of {@code terms}.
     *
     * @param crossEntropy the student's cross-entropy, or null for the modules' terms alone (parity)
     * @throws IllegalArgumentException when there is nothing to add
     */
    public static NDArray total(NDArray crossEntropy, List<LossTerm> terms) {
        NDArray total = crossEntropy;
        for (LossTerm t : terms) {
            NDArray weighted = Scalars.mul(t.value(), t.weight());
            total = total == null ? weighted : total.add(weighted);
        }
        if (total == null) throw new IllegalArgumentException("no loss to compose: no cross-entropy and no loss term");
        return total;
    }

    /** {@link #total} with each part's value and weight, for logs and status. */
    public static Loss compose(NDArray crossEntropy, List<LossTerm> terms) {
        NDArray total = total(crossEntropy, terms);
        Map<String, Double> values = new LinkedHashMap<>();
        Map<String, Double> weights = new LinkedHashMap<>();
        if (crossEntropy != null) {
            values.put(CROSS_ENTROPY, (double) crossEntropy.getFloat());
            weights.put(CROSS_ENTROPY, 1.0);
        }
        for (LossTerm t : terms) {
            values.put(t.name(), (double) t.value().getFloat());
            weights.put(t.name(), t.weight());
        }
        values.put(TOTAL, (double) total.getFloat());
        return new Loss(total, values, weights);
    }
}
