package dev.retort.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's peak resident memory (Linux {@code VmHWM}), which {@code kd:bench} and {@code kd:doctor} report per phase. */
final class PeakRss {
    private PeakRss() {}

    /** Starts a new peak from the current resident size. */
    static void reset() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException ignored) {
            // not Linux: the peak covers the whole process lifetime
        }
    }

    /** The peak since the last {@link #reset()} in MB, or -1 where the system does not say. */
    static double megabytes() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return -1;
        for (String line : Files.readAllLines(status)) if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        return -1;
    }
}
