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
import java.util.ArrayList;
import java.util.List;

/**
 * The run folder's files: {@code metrics.jsonl} (one JSON object per event), {@code train.log} and {@code run.cfg}.
 * A resumed run's log is {@linkplain #held held} in memory until its checkpoint has been read and accepted, so that
 * a refused resume leaves the folder's history as it was.
 */
final class MetricsLog implements AutoCloseable {
    private final Path dir;
    private BufferedWriter metrics;
    private BufferedWriter log;
    /** While held: what was logged so far, and the run file to write; null once the files are open. */
    private List<String> heldMetrics, heldLog;
    private String heldRunFile;

    /** @param append continue the files of an earlier run (a resumed run); otherwise they start empty */
    MetricsLog(Path dir, boolean append) throws IOException {
        this.dir = Files.createDirectories(dir);
        open(append);
    }

    private MetricsLog(Path dir) {
        this.dir = dir;
        this.heldMetrics = new ArrayList<>();
        this.heldLog = new ArrayList<>();
    }

    /** A log that writes nothing into {@code dir} until {@link #release}: the lines meanwhile are kept in memory. */
    static MetricsLog held(Path dir) {
        return new MetricsLog(dir);
    }

    /** Opens the files of a held log for appending and writes what was held, {@code first} before the rest. */
    synchronized void release(String first) throws IOException {
        if (heldLog == null) return;
        open(true);
        if (heldRunFile != null) Files.writeString(dir.resolve("run.cfg"), heldRunFile);
        write(log, first);
        heldLog.forEach(l -> write(log, l));
        heldMetrics.forEach(l -> write(metrics, l));
        heldLog = null;
        heldMetrics = null;
    }

    private void open(boolean append) throws IOException {
        StandardOpenOption mode = append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        this.metrics = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
        this.log = Files.newBufferedWriter(dir.resolve("train.log"), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
    }

    synchronized void writeRunFile(String text) throws IOException {
        if (heldLog != null) heldRunFile = text;
        else Files.writeString(dir.resolve("run.cfg"), text);
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
        if (heldMetrics != null) heldMetrics.add(o.toString());
        else write(metrics, o.toString());
    }

    synchronized void log(String line) {
        if (heldLog != null) heldLog.add(line);
        else write(log, line);
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
        if (metrics == null) return;  // held, never released: nothing was written
        try {
            metrics.close();
            log.close();
        } catch (IOException ignored) {
            // best effort at the end of a run
        }
    }
}
