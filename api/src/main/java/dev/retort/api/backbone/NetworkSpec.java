package dev.retort.api.backbone;

import dev.retort.api.tap.TapLayout;
import java.util.Map;

/**
 * Static description of a built or buildable network.
 *
 * @param variant    variant name, e.g. {@code mit-b0}
 * @param taps       every tap the forward pass yields
 * @param classes    number of output classes
 * @param parameters number of trainable parameters (BatchNorm running statistics excluded)
 * @param config     the effective architectural configuration (defaults merged with overrides)
 */
public record NetworkSpec(String variant, TapLayout taps, int classes, long parameters, Map<String, Object> config) {
    public NetworkSpec {
        config = Map.copyOf(config);
    }
}
