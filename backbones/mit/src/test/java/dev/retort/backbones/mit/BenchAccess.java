package dev.retort.backbones.mit;

import dev.retort.api.backbone.Backbone;

/** Lets the benchmark harness build networks without OSGi. */
public final class BenchAccess {
    private BenchAccess() {}

    public static Backbone backbone() {
        return new MitBackbone();
    }
}
