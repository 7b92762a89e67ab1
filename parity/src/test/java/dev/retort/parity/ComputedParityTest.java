package dev.retort.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.api.parity.ParityComputation;
import dev.retort.distill.cskd.CskdParity;
import dev.retort.distill.tat.TatParity;
import dev.retort.nn.Tolerance;
import dev.retort.testing.EngineTest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The parity computations TaT and CSKD register, through the checker kd:parity runs: every {@code tat.*} and {@code cskd.*} tensor. */
class ComputedParityTest extends EngineTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "other-kd-parity");

    @Test
    void tatAndCskdReproduceEveryTensorOfTheirFixtures() {
        ParityCheck check = new ParityCheck(Tolerance.FIXTURES);
        for (Map.Entry<ParityComputation, Integer> e : Map.<ParityComputation, Integer>of(new TatParity(), 170, new CskdParity(), 52).entrySet()) {
            ParityCheck.Report report = check.computed(FIXTURES, e.getKey().fixture(), List.of(e.getKey()), engine);
            System.out.print(ParityCheck.format(report));
            assertTrue(report.problems().isEmpty(), ParityCheck.format(report));
            assertEquals(e.getValue(), report.comparisons().size(), ParityCheck.format(report));
            assertTrue(report.passed(), ParityCheck.format(report));
        }
    }

    @Test
    void integerTensorsAreComparedExactly() {
        ParityComputation offByOne = new ParityComputation() {
            @Override
            public String fixture() {
                return "cskd";
            }

            @Override
            public Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
                Map<String, NDArray> all = new CskdParity().compute(weights, io, manager);
                NDArray labels = all.get("cskd.s4.labels.p0");
                long[] v = labels.toLongArray();
                v[3] = (v[3] + 1) % 20;
                all.put("cskd.s4.labels.p0", manager.create(v, labels.getShape()));
                return all;
            }
        };
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES).computed(FIXTURES, "cskd", List.of(offByOne), engine);
        assertFalse(report.passed());
        Tolerance.Comparison c = report.comparisons().stream().filter(x -> x.tensor().equals("cskd.s4.labels.p0")).findFirst().orElseThrow();
        assertFalse(c.pass(), ParityCheck.format(report));
        assertEquals("exact", c.note());
    }

    /** An input a computation declares is listed, not compared and not unchecked; returning it as a result is refused. */
    @Test
    void declaredInputsAreNeitherComparedNorUncheckedAndCannotBeReturned() {
        String input = "cskd.s4.labels.p0";
        class Declaring implements ParityComputation {
            final boolean handBack;

            Declaring(boolean handBack) {
                this.handBack = handBack;
            }

            @Override
            public String fixture() {
                return "cskd";
            }

            @Override
            public Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
                Map<String, NDArray> all = new TreeMap<>(new CskdParity().compute(weights, io, manager));
                if (!handBack) all.remove(input);
                return all;
            }

            @Override
            public Set<String> inputs(Path io) {
                return Set.of(input);
            }
        }
        ParityCheck check = new ParityCheck(Tolerance.FIXTURES);
        ParityCheck.Report clean = check.computed(FIXTURES, "cskd", List.of(new Declaring(false)), engine);
        assertTrue(clean.passed(), ParityCheck.format(clean));
        assertEquals(List.of(input), clean.inputs());
        assertEquals(51, clean.comparisons().size());
        assertTrue(ParityCheck.format(clean).contains("inputs read from the fixture, not compared: " + input), ParityCheck.format(clean));
        ParityCheck.Report selfCompared = check.computed(FIXTURES, "cskd", List.of(new Declaring(true)), engine);
        assertFalse(selfCompared.passed());
        assertEquals(List.of(input + ": declared an input, yet returned as a result (an input compared with itself is no check)"), selfCompared.problems());
    }
}
