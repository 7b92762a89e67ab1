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
 */
public record ModelCost(String variant, int height, int width, List<Part> parts, Map<String, long[]> tapShapes) {
    /** One row: trainable parameters and multiply-accumulates. */
    public record Part(String name, long parameters, long macs) {}

    public ModelCost {
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
