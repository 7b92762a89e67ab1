package dev.retort.api.backbone;

import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A family of segmentation networks, registered as an OSGi service.
 *
 * <p>Implemented by backbone bundles (also third-party ones), hence {@code @ConsumerType}.
 */
@ConsumerType
public interface Backbone {
    /** Service property naming the family, e.g. {@code mit}. */
    String FAMILY_PROPERTY = "retort.backbone";

    /**
     * Service property listing {@link #variants()} (a {@code String[]}), so that a client finds the backbone that builds
     * a variant with a filter such as {@code (retort.backbone.variants=mit-b0)} instead of fetching every service.
     *
     * @since 1.2
     */
    String VARIANTS_PROPERTY = "retort.backbone.variants";

    /** Family name, e.g. {@code mit}. */
    String name();

    /** Variant names this service builds, e.g. {@code mit-b0} … {@code mit-b5}. */
    List<String> variants();

    /**
     * Static description of a variant with the given overrides: no tensors are allocated.
     *
     * @throws IllegalArgumentException for an unknown variant or an invalid configuration
     */
    NetworkSpec describe(String variant, Map<String, ?> config);

    /**
     * Parameters and multiply-accumulates per part at an input of {@code height × width}, without building.
     *
     * @throws IllegalArgumentException for an unknown variant, an invalid configuration or an input too small
     */
    ModelCost cost(String variant, Map<String, ?> config, int height, int width);

    /**
     * The cost of the forward that gives {@code taps} ({@link SegmentationNetwork#forward(NDArray, boolean, Set)}): the
     * parts it leaves out are not listed. The default is the whole network's cost.
     *
     * @since 1.4
     */
    default ModelCost cost(String variant, Map<String, ?> config, int height, int width, Set<String> taps) {
        return cost(variant, config, height, width);
    }

    /**
     * Builds and initialises a network whose parameters live in {@code manager}.
     *
     * @param seed seed of the parameter initialisation
     * @throws IllegalArgumentException for an unknown variant or an invalid configuration
     */
    SegmentationNetwork build(String variant, Map<String, ?> config, NDManager manager, long seed);
}
