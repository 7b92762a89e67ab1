package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.api.parity.ParityComputation;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A {@link ParityComputation} of a distiller bundle over its fixture pair ({@code <fixture>.weights.safetensors},
 * {@code <fixture>.io.safetensors}) whose inputs are the io file's {@code student.*} and {@code teacher.*} taps: the
 * files are opened (and closed) here, a subclass computes from the open files.
 */
public abstract class FixturePairComputation implements ParityComputation {
    private final String fixture;

    protected FixturePairComputation(String fixture) {
        this.fixture = fixture;
    }

    @Override
    public final String fixture() {
        return fixture;
    }

    @Override
    public final Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
        try (SafeTensorsFile w = SafeTensorsFile.open(weights); SafeTensorsFile i = SafeTensorsFile.open(io)) {
            return computeFrom(w, i, manager);
        }
    }

    /** Every compared tensor of {@code io}, by fixture name, as {@link #compute} returns it. */
    protected abstract Map<String, NDArray> computeFrom(SafeTensorsFile weights, SafeTensorsFile io, NDManager manager) throws IOException;

    /** Whether a tensor of the io file is an input (a student or teacher tap), not compared. */
    public static boolean isInput(String name) {
        return name.startsWith("student.") || name.startsWith("teacher.");
    }
}
