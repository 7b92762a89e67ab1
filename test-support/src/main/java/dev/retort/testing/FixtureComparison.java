package dev.retort.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.retort.nn.Tolerance;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A parity test's comparison of computed tensors with a golden fixture, tensor by tensor, through {@link Tolerance}
 * (the one definition of the bar, which {@code kd:parity} uses too): it gathers the tensors out of tolerance and the
 * ones not computed, and the worst error of each group of tensors, which {@link #print} reports so that a run shows
 * how close each part comes, not only that it passed.
 */
public final class FixtureComparison {
    private static final Set<DType> INTEGERS = EnumSet.of(DType.I64, DType.I32, DType.I16, DType.I8, DType.U8);

    private final Tolerance tolerance;
    private final String title;
    private final UnaryOperator<String> group;
    private final List<String> failures = new ArrayList<>();
    private final List<String> missing = new ArrayList<>();
    /** Group → {worst ratio to the bar, worst absolute error}. */
    private final Map<String, double[]> groups = new TreeMap<>();
    private int compared;

    /**
     * @param title what is compared, at the start of each printed line ({@code tat parity})
     * @param group the group a tensor's figures are reported under
     */
    public FixtureComparison(Tolerance tolerance, String title, UnaryOperator<String> group) {
        this.tolerance = tolerance;
        this.title = title;
        this.group = group;
    }

    /** Compares one tensor; a different element count fails the test at once. */
    public Tolerance.Comparison compare(String name, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, name + ": element count");
        Tolerance.Comparison c = tolerance.compare(name, actual, expected);
        compared++;
        if (!c.pass()) failures.add(String.format("%s: max abs error %.3g, %.2f× the tolerance", name, c.maxAbsError(), c.worstRatio()));
        double[] g = groups.computeIfAbsent(group.apply(name), k -> new double[2]);
        g[0] = Math.max(g[0], c.worstRatio());
        g[1] = Math.max(g[1], c.maxAbsError());
        return c;
    }

    /** Compares an integer tensor (e.g. argmax labels): equal element by element, reported under {@code groupName}. */
    public void exact(String name, long[] actual, long[] expected, String groupName) {
        assertArrayEquals(expected, actual, name);
        compared++;
        groups.computeIfAbsent(groupName, k -> new double[2]);
    }

    /**
     * Compares every tensor of {@code io} but the inputs with the computed tensor of its name: integer tensors (argmax
     * labels) exactly, under the group {@code labels (exact)}, the others within the tolerance; one not computed is
     * recorded as missing.
     */
    public FixtureComparison compareAll(SafeTensorsFile io, Map<String, NDArray> computed, Predicate<String> isInput) throws IOException {
        for (String name : io.tensors().keySet()) {
            if (isInput.test(name)) continue;
            NDArray a = computed.get(name);
            if (a == null) {
                missing(name);
            } else if (INTEGERS.contains(io.info(name).dtype())) {
                exact(name + ": argmax labels", a.toType(DataType.INT64, false).toLongArray(), io.readLongs(name), "labels (exact)");
            } else {
                compare(name, a.toType(DataType.FLOAT32, false).toFloatArray(), io.readFloats(name));
            }
        }
        return this;
    }

    /** A fixture tensor that was not computed. */
    public void missing(String name) {
        missing.add(name);
    }

    /** How many tensors were compared. */
    public int compared() {
        return compared;
    }

    /** Prints each group's worst ratio to the bar and worst absolute error. */
    public FixtureComparison print() {
        groups.forEach((g, w) -> System.out.printf("%s %-32s worst %.3g of the bar, max abs error %.3g%n", title, g, w[0], w[1]));
        return this;
    }

    /** Every fixture tensor computed and within tolerance. */
    public void assertPassed() {
        assertTrue(missing.isEmpty(), "not computed: " + missing);
        assertTrue(failures.isEmpty(), failures.size() + " of " + compared + " tensors out of tolerance:\n" + String.join("\n", failures));
    }
}
