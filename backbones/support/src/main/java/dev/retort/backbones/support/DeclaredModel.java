package dev.retort.backbones.support;

import dev.retort.api.backbone.ModelCost;
import dev.retort.api.tap.TapLayout;
import java.util.Set;

/** A network's block tree as declared from its configuration: shapes and counts, no arrays. */
public interface DeclaredModel {
    /** The taps one forward pass gives, in order. */
    TapLayout taps();

    /** Trainable parameters of the network. */
    long parameterCount();

    /** Parameters and multiply-accumulates of one image (see {@link ModelCost}). */
    ModelCost cost(int height, int width);

    /** The cost of the forward that gives {@code taps} (the whole network's unless the model can stop early). */
    default ModelCost cost(int height, int width, Set<String> taps) {
        return cost(height, width);
    }
}
