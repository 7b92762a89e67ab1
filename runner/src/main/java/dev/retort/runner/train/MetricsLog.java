package dev.retort.runner.train;

import com.google.gson.JsonObject;
import dev.retort.api.run.RunEvent;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The run folder's files: {@code metrics.jsonl} (one JSON object per event), {@code train.log} and {@code run.cfg}. */
final class MetricsLog implements AutoCloseable {
    private final Path dir;
    private final BufferedWriter metrics;
    private final BufferedWriter log;

    /** @param append continue the files of an earlier run (a resumed run); otherwise they start empty */
    MetricsLog(Path dir, boolean append) throws IOException {
        this.dir = Files.createDirectories(dir);
        StandardOpenOption mode = append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        this.metrics = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
        this.log = Files.newBufferedWriter(dir.resolve("train.log"), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
    }

    void writeRunFile(String text) throws IOException {
        Files.writeString(dir.resolve("run.cfg"), text);
    }

    synchronized void append(RunEvent e) {
        JsonObject o = new JsonObject();
        o.addProperty("run", e.runId());
        o.addProperty("type", e.type().name());
        o.addProperty("step", e.step());
        o.addProperty("epoch", e.epoch());
        o.addProperty("time", e.time().toString());
        e.metrics().forEach((k, v) -> {
            if (Double.isFinite(v)) o.addProperty(k, v);
            else o.addProperty(k, String.valueOf(v));
        });
        if (!e.message().isEmpty()) o.addProperty("message", e.message());
        write(metrics, o.toString());
    }

    synchronized void log(String line) {
        write(log, line);
    }

    private static void write(BufferedWriter w, String line) {
        try {
            w.write(line);
            w.newLine();
            w.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            metrics.close();
            log.close();
        } catch (IOException ignored) {
            // best effort at the end of a run
        }
    }
}
