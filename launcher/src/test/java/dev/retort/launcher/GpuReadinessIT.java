package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.launcher.Retort.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a user runs first on a new machine, through the jar: kd:doctor on this CPU, and the optimizer's parity with PyTorch's AdamW. */
class GpuReadinessIT {
    @Test
    void doctorChecksThisMachineAndPasses(@TempDir Path work) throws Exception {
        // two 20-step runs with every distiller: minutes on a loaded 2-core machine, beyond Retort.run's limit
        Process p = Retort.start(work, "kd:doctor");
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), "kd:doctor did not finish in 15 minutes");
        String out = Files.readString(work.resolve("log.txt"));
        System.out.print(out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.matches("(?s).*\\n  flavor +cpu\\R.*"), out);
        assertTrue(out.matches("(?s).*\\n  version +libtorch 2\\.7\\.1 \\(DJL 0\\.35\\.1\\)\\R.*"), out);
        assertTrue(out.matches("(?s).*\\n  cpu flags +avx2[+-] .*amx_bf16[+-]\\R.*"), out);
        assertTrue(out.matches("(?s).*\\n  precision +(fp32|bf16-mixed).*"), out);
        assertTrue(out.contains("no GPU: nothing to compare against the CPU"), out);
        assertTrue(out.matches("(?s).*\\n  cpu +20 steps, loss \\d+\\.\\d+ -> \\d+\\.\\d+, \\d+\\.\\d ms/step, peak RSS \\d+ MB, second run identical\\R.*"), out);
        assertTrue(out.matches("(?s).*\\n  cpu finite +ok +20 of 20 steps, all finite\\R.*"), out);
        assertTrue(out.matches("(?s).*\\n  cpu repeatable +ok +identical losses\\R.*"), out);
        assertTrue(out.matches("(?s).*\\nPASS: (\\d+)/\\1 checks passed\\R.*"), out);
    }

    @Test
    void kdParityChecksTheOptimizerAgainstPyTorchsAdamW(@TempDir Path work) throws Exception {
        Path fixture = Path.of(System.getProperty("retort.fixtures"), "adamw-parity");
        Result r = Retort.run(work, "", "kd:parity", fixture.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("adamw (the fixture's bar: atol 1e-06, rtol 1e-06)"), r.out());
        assertTrue(r.out().contains("PASS: 256/256 tensors within tolerance"), r.out());
        assertTrue(r.out().contains("PASS: 1/1 fixture sets in " + fixture.toAbsolutePath()), r.out());
    }
}
