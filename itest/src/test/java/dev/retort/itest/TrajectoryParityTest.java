package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * {@code kd:parity} on the official TransKD-Base training trajectory, through the Runner service as {@code kd:train}
 * runs (the batch-file dataset, {@code init}, the CSF and PEA bundles): every loss term at every step and the final
 * tensors match; a trajectory that differs fails the command.
 */
@ExtendWith(ServiceExtension.class)
class TrajectoryParityTest {
    static final Path FIXTURE = Path.of(System.getProperty("retort.fixtures"), "transkd-trajectory");

    @InjectService(timeout = 10_000)
    CommandProcessor shell;

    @Test
    void theOfficialTrainingTrajectoryIsReproducedThroughTheRunner() throws Exception {
        Outcome r = parity(FIXTURE);
        assertTrue(r.failure() == null, r.out());
        assertTrue(r.out().contains("trajectory transkd-trajectory") && r.out().contains("PASS: 1/1 fixture sets"), r.out());
        assertTrue(r.out().contains("worst share of the tolerance per step: 0: "), r.out());
        assertTrue(r.out().contains("run log: init: module csf: all ") && r.out().contains("run log: init: module pea: all "), r.out());
        assertTrue(r.out().contains("loss.hcl.0") && r.out().contains("final.skfs.0.conv1.0.weight"), r.out());
    }

    @Test
    void aTrajectoryThatDiffersFailsNamingTheTermAndTheTensor(@TempDir Path copy) throws Exception {
        for (String f : List.of("summary.json", "initial.safetensors", "batches.safetensors")) Files.copy(FIXTURE.resolve(f), copy.resolve(f));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile e = SafeTensorsFile.open(FIXTURE.resolve("expected.safetensors"))) {
            for (String k : e.tensors().keySet()) {
                if (!e.info(k).dtype().floating()) {
                    w.add(k, e.info(k).shape(), e.readLongs(k), DType.I64);
                    continue;
                }
                float[] v = e.readFloats(k);
                if (k.equals("loss.ce.3")) v[0] += 0.01f;  // a cross-entropy a hundredth off at one step
                if (k.equals("final.embed4_linearproject.weight")) v[0] += 0.05f;
                w.add(k, e.info(k).shape(), v, DType.F32);
            }
        }
        w.write(copy.resolve("expected.safetensors"));
        Outcome r = parity(copy);
        assertNotNull(r.failure(), r.out());
        assertTrue(r.failure().getMessage().contains("parity FAILED for 1 of 1 fixture sets"), r.failure().getMessage());
        assertTrue(r.out().contains("loss.ce.3") && r.out().lines().anyMatch(l -> l.contains("loss.ce.3") && l.contains("FAIL")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.contains("final.embed4_linearproject.weight") && l.contains("FAIL")), r.out());
        assertFalse(r.out().lines().anyMatch(l -> l.contains("loss.ce.2 ") && l.contains("FAIL")), r.out());
    }

    /**
     * {@code kd:parity} on the shared folder checks every set it knows in one command; whether they all pass is each
     * set's own test (a set whose issue is still open fails the command, and this test does not hide it: it prints it).
     */
    @Test
    void oneCommandChecksEveryFixtureSetUnderTheSharedFolder() throws Exception {
        Path shared = FIXTURE.getParent();
        Outcome r = parity(shared);
        System.out.print(r.out());
        for (String set : List.of("transkd-parity", "pvtv2-parity", "other-kd-parity", "transkd-trajectory")) {
            assertTrue(r.out().contains("== " + shared.resolve(set) + "\n"), set + " is checked\n" + r.out());
        }
        // the trajectory's own report: from its header to the next line that is not indented
        List<String> lines = r.out().lines().toList();
        int from = lines.indexOf("== " + shared.resolve("transkd-trajectory"));
        List<String> trajectory = lines.subList(from + 1, lines.size()).stream().takeWhile(l -> l.startsWith("  ") || l.startsWith("trajectory ")).toList();
        assertTrue(trajectory.stream().anyMatch(l -> l.startsWith("  PASS: ")), String.join("\n", trajectory));
        assertTrue(r.out().lines().anyMatch(l -> l.matches("(PASS|FAIL): \\d+/\\d+ fixture sets in " + java.util.regex.Pattern.quote(shared.toString()))), r.out());
        if (r.failure() != null) assertTrue(r.failure().getMessage().contains("parity FAILED for"), r.failure().getMessage());
    }

    private record Outcome(String out, Exception failure) {}

    /** kd:parity in a session of its own, keeping what it printed when it fails. */
    private Outcome parity(Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        Exception failure = null;
        try (CommandSession session = shell.createSession(System.in, ps, ps)) {
            Object result = session.execute("kd:parity " + dir);
            if (result != null) ps.println(session.format(result, 0));
        } catch (Exception e) {
            failure = e;
        }
        return new Outcome(out.toString(StandardCharsets.UTF_8), failure);
    }
}
