package dev.retort.api.backbone;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Size and cost of a network at one input size, by the reference's convention (mmcv's complexity counter):
 * multiply-accumulates of convolutions (bias included), linears (bias excluded), norms (2 per element), ReLU
 * and pooling; attention matmuls, softmax, GELU and interpolation are not counted.
 *
 * @param variant   network variant
 * @param height    input height
 * @param width     input width
 * @param parts     per part (e.g. {@code stage 1} … {@code head}), in order
 * @param tapShapes shape of every tap for a batch of 1, by tap name, in the order given (stage order for MiT)
 * @param attentionMacs multiply-accumulates of the attention products (Q·Kᵀ and attention·V) that the convention leaves
 *                  out; with {@link #macs()} they give the arithmetic a utilisation figure needs (since 1.3; 0 when a
 *                  backbone does not count them)
 */
public record ModelCost(String variant, int height, int width, List<Part> parts, Map<String, long[]> tapShapes, long attentionMacs) {
    /** One row: trainable parameters and multiply-accumulates. */
    public record Part(String name, long parameters, long macs) {}

    /** Without a count of the attention products (before 1.3). */
    public ModelCost(String variant, int height, int width, List<Part> parts, Map<String, long[]> tapShapes) {
        this(variant, height, width, parts, tapShapes, 0);
    }

    public ModelCost {
        if (attentionMacs < 0) throw new IllegalArgumentException("attentionMacs must be >= 0, got " + attentionMacs);
        parts = List.copyOf(parts);
        tapShapes = Collections.unmodifiableMap(new LinkedHashMap<>(tapShapes));  // Map.copyOf would scramble the order
    }

    public long parameters() {
        return parts.stream().mapToLong(Part::parameters).sum();
    }

    public long macs() {
        return parts.stream().mapToLong(Part::macs).sum();
    }
}
