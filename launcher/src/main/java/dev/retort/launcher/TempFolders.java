package dev.retort.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The private temporary folder of a Retort process ({@code retort-felix-<pid>-<random>} in {@code java.io.tmpdir}:
 * Felix's bundle cache and FileInstall's temporary files). It is deleted at exit; one left by a killed process is
 * deleted by the next start, once its owner is gone. A folder whose process still runs is never touched: parallel
 * runs share the temporary directory.
 */
final class TempFolders {
    static final String PREFIX = "retort-felix-";
    private static final Pattern OWNED = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-.*");

    private TempFolders() {}

    static Path create() throws IOException {
        return Files.createTempDirectory(PREFIX + ProcessHandle.current().pid() + "-");
    }

    /** Deletes the folders of processes that no longer run; returns how many. */
    static int removeStale(PrintStream err) {
        return removeStale(Path.of(System.getProperty("java.io.tmpdir")), err);
    }

    static int removeStale(Path tmp, PrintStream err) {
        int removed = 0;
        try (Stream<Path> entries = Files.list(tmp)) {
            for (Path p : entries.toList()) {
                Matcher m = OWNED.matcher(p.getFileName().toString());
                if (!m.matches() || !Files.isDirectory(p)) continue;
                long pid = Long.parseLong(m.group(1));
                if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).isPresent()) continue;  // a live process's
                deleteTree(p, err);
                removed++;
            }
        } catch (IOException | RuntimeException e) {
            err.println("retort: could not look for stale temporary folders in " + tmp + ": " + e.getMessage());
        }
        return removed;
    }

    static void deleteTree(Path root, PrintStream err) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            err.println("retort: could not delete " + root + ": " + e.getMessage());
        }
    }
}
