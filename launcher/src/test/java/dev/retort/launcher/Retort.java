package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Runs the built {@code retort.jar} in its own JVM, as a user does, and collects what it printed. */
final class Retort {
    static final Path JAR = Path.of(System.getProperty("retort.jar"));

    record Result(int exit, String out, String err) {}

    private Retort() {}

    /** One command line in {@code workDir}, {@code stdin} as its input; fails the test if it runs over 180 s. */
    static Result run(Path workDir, String stdin, String... args) throws IOException, InterruptedException {
        return run(workDir, List.of(), stdin, args);
    }

    /** As {@link #run(Path, String, String...)}, with these options for the JVM (e.g. {@code -Dretort.cache=DIR}). */
    static Result run(Path workDir, List<String> jvmOptions, String stdin, String... args) throws IOException, InterruptedException {
        return run(workDir, Map.of(), jvmOptions, stdin, args);
    }

    /** As {@link #run(Path, List, String, String...)}, with these environment variables added. */
    static Result run(Path workDir, Map<String, String> environment, List<String> jvmOptions, String stdin, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR")));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Path out = workDir.resolve("stdout.txt");
        Path err = workDir.resolve("stderr.txt");
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(environment);
        Process p = builder.start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "retort " + String.join(" ", args) + " did not finish");
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts {@code retort.jar} with these arguments in {@code workDir}, in the background; its output goes to {@code log.txt}. */
    static Process start(Path workDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(workDir.resolve("log.txt").toFile()).start();
    }

    /**
     * Writes {@code tiny.cfg} into {@code workDir}: a run of 2000 steps on 32×64 synthetic images with a teacher and a
     * student a few channels wide (4 stages each), logging every step to {@code out}, without a {@code modules} key
     * (so that it follows the registered distillers).
     */
    static Path tinyRun(Path workDir, Path out) throws IOException {
        return Files.writeString(workDir.resolve("tiny.cfg"), String.join("\n", "name = tiny", "output = " + out, "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 16", "data.val_size = 4",
                "batch_size = 2", "iterations = 2000", "eval_every = 100000", "eval_batches = 1", "decay_per = iteration", "log_every = 1", "threads = 1",
                "module.maskd.prepare_steps = 2", ""));
    }

    /** Waits until a line of {@code file} satisfies {@code line}; false when the deadline passes or {@code process} ends first. */
    static boolean await(Path file, Predicate<String> line, long deadlineMillis, Process process) throws IOException, InterruptedException {
        while (System.currentTimeMillis() < deadlineMillis && process.isAlive()) {
            if (Files.exists(file) && Files.readAllLines(file).stream().anyMatch(line)) return true;
            Thread.sleep(100);
        }
        return Files.exists(file) && Files.readAllLines(file).stream().anyMatch(line);
    }
}
