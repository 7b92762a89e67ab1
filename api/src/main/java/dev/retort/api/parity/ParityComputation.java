package dev.retort.api.parity;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A parity check a bundle computes itself, for fixtures a declarative {@link ParityCase} cannot describe (several
 * modes or progress values in one file, a preparation phase, inputs beyond the taps). Registered as a service with
 * {@link ParityCases#FIXTURE_PROPERTY}; the checker compares what {@link #compute} returns with the fixture's tensors of
 * the same names, and counts as a failure every tensor named {@code <fixture>.*} that no computation returned and
 * none declared an {@linkplain #inputs input}.
 *
 * @since 1.1
 */
@ConsumerType
public interface ParityComputation {
    /** The fixture pair's file stem, e.g. {@code tat} for {@code tat.weights.safetensors} and {@code tat.io.safetensors}. */
    String fixture();

    /**
     * Reproduces the fixture's expected tensors from its weights and inputs (shapes read from the files).
     *
     * @param weights the {@code .weights.safetensors} file
     * @param io      the {@code .io.safetensors} file
     * @param manager where the results live
     * @return computed tensors by their names in {@code io}
     * @throws IOException              when a file cannot be read
     * @throws IllegalArgumentException when the files do not hold what the computation needs (named in the message)
     */
    Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException;

    /**
     * The fixture's tensors named {@code <fixture>.*} that are inputs of the computation rather than expected values
     * (e.g. a random gradient probe the reference code drew): the checker lists them as inputs, neither compares them
     * nor counts them as unchecked. None by default.
     *
     * @param io the {@code .io.safetensors} file
     * @return names of input tensors in {@code io}
     * @throws IOException when the file cannot be read
     * @since 1.2
     */
    default Set<String> inputs(Path io) throws IOException {
        return Set.of();
    }

    /**
     * Whether the fixture is one file {@code <fixture>.safetensors} holding inputs and expected values together (e.g.
     * an optimizer's trajectories) instead of the pair: {@link #compute} then gets that file as both {@code weights}
     * and {@code io}, and every tensor of the file must be returned or declared an {@linkplain #inputs input}. False by
     * default.
     *
     * @since 1.3
     */
    default boolean singleFile() {
        return false;
    }

    /**
     * The fixture's own bar, when it states one (e.g. an optimizer's trajectories to float32 rounding): every element
     * within {@code atol + rtol·|expected|}. Empty by default: the checker's bar for reference fixtures.
     *
     * @since 1.3
     */
    default Optional<Bar> tolerance() {
        return Optional.empty();
    }

    /**
     * A tolerance: |actual − expected| ≤ {@code atol + rtol·|expected|} element by element.
     *
     * @param atol absolute part, ≥ 0
     * @param rtol relative part, ≥ 0
     * @since 1.3
     */
    record Bar(double atol, double rtol) {
        public Bar {
            if (!(atol >= 0) || !(rtol >= 0)) throw new IllegalArgumentException("a tolerance is two numbers >= 0, got " + atol + ", " + rtol);
        }
    }
}
