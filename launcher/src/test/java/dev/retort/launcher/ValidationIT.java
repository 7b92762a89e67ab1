package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.launcher.Retort.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad configuration files and bad run files, as a user meets them: answers on stderr, no stack traces, exit 1. */
class ValidationIT {
    private static Result retort(Path workDir, String... args) throws IOException, InterruptedException {
        return Retort.run(workDir, "", args);
    }

    @Test
    void aMisspeltPidAndARejectedDistillerConfigurationAreReportedWithoutStackTraces(@TempDir Path work) throws Exception {
        Path conf = Files.createDirectories(work.resolve("conf"));
        Files.writeString(conf.resolve("dev.retort.distill.cfs.cfg"), "weight=2\n");
        Files.writeString(conf.resolve("dev.retort.distill.pea.cfg"), "weights=abc\n");
        Files.writeString(conf.resolve("dev.retort.run-demo.cfg"), "name=demo\nstudent=mit-b0\n");
        Result r = retort(work, "kd:info");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("retort: conf/dev.retort.distill.cfs.cfg: no installed bundle reads PID dev.retort.distill.cfs"
                + " (did you mean dev.retort.distill.csf?); the file configures nothing"), r.err());
        assertFalse(r.err().contains("dev.retort.run-demo.cfg") || r.err().contains("dev.retort.distill.pea.cfg:"), "known PIDs are not reported: " + r.err());
        assertTrue(r.out().contains("[configuration rejected: dev.retort.distill.pea: weights must be a list of numbers, got 'abc']"), r.out());
        assertTrue(r.out().matches("(?s).*  natives +flavor cpu, libtorch \\S+2\\.7\\.1(-\\d{8})?-cpu-linux-x86_64\\R.*"), r.out());
        assertTrue(r.out().contains("  cuda       none (the cpu build has no CUDA); cuDNN none"), r.out());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace: " + r.err());
    }

    @Test
    void aBadRunFileOrACommandWithoutARunIsAnAnswerNotACrash(@TempDir Path work) throws Exception {
        Files.writeString(work.resolve("bad.cfg"), "student = mit-b0\nbach_size = 8\n");
        Result bad = retort(work, "kd:train", "bad.cfg");
        assertEquals(1, bad.exit(), bad.out() + bad.err());
        assertTrue(bad.err().contains("retort: kd:train bad.cfg: run: unknown key 'bach_size' (did you mean batch_size?); known keys: "), bad.err());
        Files.writeString(work.resolve("nan.cfg"), "student = mit-b0\nlr = NaN\n");
        Result nan = retort(work, "kd:train", "nan.cfg");
        assertEquals(1, nan.exit(), nan.out() + nan.err());
        assertTrue(nan.err().contains("retort: kd:train nan.cfg: run: lr must be a finite number, got 'NaN'"), nan.err());
        Result pause = retort(work, "kd:pause");
        assertEquals(1, pause.exit());
        assertTrue(pause.err().contains("retort: kd:pause: no run in progress: start one with kd:train <run file>"), pause.err());
        for (Result r : List.of(bad, nan, pause)) assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
    }

    /**
     * The CUDA route with a real libtorch: the CPU build DJL unpacked, linked file by file into a folder of the user's
     * (without DJL's JNI glue), given by -Dretort.libtorch or by DJL's own PYTORCH_LIBRARY_PATH. kd:info must name that
     * folder and its flavor, not DJL's cache; an environment that says another folder is refused by name.
     */
    @Test
    void aLibtorchFolderIsLoadedFromWhereTheUserSays(@TempDir Path work) throws Exception {
        Path unpacked;
        try (var dirs = Files.list(Path.of(System.getProperty("DJL_CACHE_DIR"), "pytorch"))) {
            unpacked = dirs.filter(d -> Files.isRegularFile(d.resolve("libtorch.so")) && d.getFileName().toString().contains("-cpu-")).findFirst()
                    .orElseThrow(() -> new AssertionError("no unpacked CPU libtorch under " + System.getProperty("DJL_CACHE_DIR")));
        }
        Path lib = Files.createDirectories(work.resolve("libtorch").resolve("lib"));
        try (var files = Files.list(unpacked)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().contains("djl_torch")) Files.createSymbolicLink(lib.resolve(f.getFileName()), f);
            }
        }
        String natives = "  natives    flavor cpu, libtorch " + lib.toAbsolutePath();
        Result property = Retort.run(work, List.of("-Dretort.libtorch=" + lib), "", "kd:info");
        assertEquals(0, property.exit(), property.out() + property.err());
        assertTrue(property.out().contains(natives + System.lineSeparator()), property.out());
        assertTrue(property.err().contains("retort: libtorch from " + lib.toAbsolutePath() + " (cpu)"), property.err());

        Result environment = Retort.run(work, java.util.Map.of("PYTORCH_LIBRARY_PATH", lib.toString()), List.of(), "", "kd:info");
        assertEquals(0, environment.exit(), environment.out() + environment.err());
        assertTrue(environment.out().contains(natives + System.lineSeparator()), environment.out());

        Path other = Files.createDirectories(work.resolve("other"));
        Result conflict = Retort.run(work, java.util.Map.of("PYTORCH_LIBRARY_PATH", other.toString()), List.of("-Dretort.libtorch=" + lib), "", "kd:info");
        assertEquals(2, conflict.exit(), conflict.out() + conflict.err());
        assertTrue(conflict.err().contains("the environment's PYTORCH_LIBRARY_PATH=" + other + " overrides the libtorch folder " + lib.toAbsolutePath()),
                conflict.err());
        Result flavor = Retort.run(work, java.util.Map.of("PYTORCH_FLAVOR", "cu128"), List.of("-Dretort.libtorch=" + lib), "", "kd:info");
        assertEquals(2, flavor.exit(), flavor.out() + flavor.err());
        assertTrue(flavor.err().contains("the environment's PYTORCH_FLAVOR=cu128 overrides the cpu flavor of " + lib.toAbsolutePath()), flavor.err());
    }

    /** The CUDA route's folder option: a wrong folder stops the start with a message naming the file, before DJL loads anything. */
    @Test
    void aWrongLibtorchFolderIsRefusedNamingTheMissingFile(@TempDir Path work) throws Exception {
        Path empty = Files.createDirectories(work.resolve("empty"));
        Result none = Retort.run(work, List.of("-Dretort.libtorch=" + empty), "", "kd:info");
        assertEquals(2, none.exit(), none.out() + none.err());
        assertTrue(none.err().contains("retort: cannot start the runtime: libtorch folder " + empty.toAbsolutePath() + ": libtorch.so is missing"), none.err());

        Path cuda = Files.createDirectories(work.resolve("cuda"));
        Files.writeString(cuda.resolve("libtorch.so"), "");
        Files.writeString(cuda.resolve("libtorch_cuda.so"), "");
        Result partial = Retort.run(work, List.of("-Dretort.libtorch=" + cuda), "", "kd:info");
        assertEquals(2, partial.exit(), partial.out() + partial.err());
        assertTrue(partial.err().contains("libtorch folder " + cuda.toAbsolutePath() + ": libc10_cuda.so is missing for the cu128 flavor"), partial.err());

        Result flavor = Retort.run(work, List.of("-Dretort.libtorch=" + cuda, "-Dretort.libtorch.flavor=cu999"), "", "kd:info");
        assertEquals(2, flavor.exit(), flavor.out() + flavor.err());
        assertTrue(flavor.err().contains("libc10_cuda.so is missing for the cu999 flavor"), flavor.err());
        Files.writeString(cuda.resolve("libc10_cuda.so"), "");
        Result jni = Retort.run(work, List.of("-Dretort.libtorch=" + cuda, "-Dretort.libtorch.flavor=cu999"), "", "kd:info");
        assertEquals(2, jni.exit(), jni.out() + jni.err());
        assertTrue(jni.err().contains("the pytorch-jni jar has no JNI library for the cu999 flavor (/jnilib/linux-x86_64/cu999/libdjl_torch.so)"), jni.err());
        for (Result r : List.of(none, partial, flavor, jni)) assertFalse(r.err().contains("\tat "), r.err());
    }
}
