package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the built {@code retort.jar} in its own JVM, as a user does, and collects what it printed. */
final class Retort {
    static final Path JAR = Path.of(System.getProperty("retort.jar"));

    record Result(int exit, String out, String err) {}

    private Retort() {}

    /** One command line in {@code workDir}, {@code stdin} as its input; fails the test if it runs over 180 s. */
    static Result run(Path workDir, String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Path out = workDir.resolve("stdout.txt");
        Path err = workDir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "retort " + String.join(" ", args) + " did not finish");
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
