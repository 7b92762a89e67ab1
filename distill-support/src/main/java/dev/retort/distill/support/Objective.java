package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import dev.retort.api.distill.LossTerm;
import dev.retort.nn.BFloat16;
import dev.retort.nn.HostTransfers;
import dev.retort.nn.Scalars;
import java.util.ArrayList;
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

    /**
     * A step's loss before any of it is read: the array to differentiate and every part's value stacked in one float32
     * array on the device, so that a step reads them all (with whatever else it stacks on them) in one copy.
     *
     * @param total   the array to differentiate
     * @param names   the parts' names in the order {@link Loss#values()} gives them (the total last)
     * @param values  the parts' values, one element each, in the order of {@code names}
     * @param weights each part's weight (the cross-entropy's is 1), without the total
     */
    public record Parts(NDArray total, List<String> names, NDArray values, Map<String, Double> weights) {
        public Parts {
            names = List.copyOf(names);
            weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        }

        /** The loss, given its values as read ({@code names().size()} elements from {@code read[offset]}). */
        public Loss read(float[] read, int offset) {
            Map<String, Double> v = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) v.put(names.get(i), (double) read[offset + i]);
            return new Loss(total, v, weights);
        }
    }

    /** {@link #total} with each part's value (not read: stacked on the device) and weight. */
    public static Parts parts(NDArray crossEntropy, List<LossTerm> terms) {
        NDArray total = total(crossEntropy, terms);
        List<String> names = new ArrayList<>();
        NDList values = new NDList();
        Map<String, Double> weights = new LinkedHashMap<>();
        if (crossEntropy != null) {
            names.add(CROSS_ENTROPY);
            values.add(element(crossEntropy));
            weights.put(CROSS_ENTROPY, 1.0);
        }
        for (LossTerm t : terms) {
            names.add(t.name());
            values.add(element(t.value()));
            weights.put(t.name(), t.weight());
        }
        names.add(TOTAL);
        values.add(element(total));
        return new Parts(total, names, NDArrays.concat(values), weights);
    }

    /** A one-element float32 view of a 0-d value (a value of another floating type converted exactly). */
    public static NDArray element(NDArray value) {
        NDArray f = value.getDataType() == DataType.FLOAT32 ? value
                : value.getDataType() == DataType.UNKNOWN ? BFloat16.toFloat32(value) : value.toType(DataType.FLOAT32, false);
        return f.reshape(1);
    }

    /** {@link #parts} read in one copy, for logs and status. */
    public static Loss compose(NDArray crossEntropy, List<LossTerm> terms) {
        Parts p = parts(crossEntropy, terms);
        return p.read(HostTransfers.floats(p.values()), 0);
    }
}
