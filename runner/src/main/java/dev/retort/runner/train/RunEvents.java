package dev.retort.runner.train;

import dev.retort.api.run.RunEvent;
import java.io.PrintStream;
import java.time.Instant;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Where a run reports: messages to the console and {@code train.log}, events to {@code metrics.jsonl} and to the
 * listeners (through {@code publish}), each stamped with the run's step and epoch as its snapshot has them.
 */
final class RunEvents {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
    private final String id;
    private final PrintStream console;
    private final RunSnapshot.Board board;
    private final Consumer<RunEvent> publish;
    private MetricsLog metrics;  // training thread only; null until the run folder is open

    RunEvents(String id, PrintStream console, RunSnapshot.Board board, Consumer<RunEvent> publish) {
        this.id = id;
        this.console = console;
        this.board = board;
        this.publish = publish;
    }

    /** The run folder's files, from now on (and closed with them). */
    void open(MetricsLog files) {
        this.metrics = files;
    }

    MetricsLog files() {
        return metrics;
    }

    void event(RunEvent.Type type, Map<String, Double> values, String message) {
        RunSnapshot now = board.get();
        RunEvent e = new RunEvent(id, type, now.step(), now.epoch(), Instant.now(), values, message);
        if (metrics != null) metrics.append(e);
        // train.log gets a loss line every log_every steps too (the console has the progress line instead)
        if (type == RunEvent.Type.STEP && metrics != null) metrics.log(stamp(lossLine(now, values)));
        publish.accept(e);
    }

    void log(String line) {
        String text = stamp(line);
        console.println(text);
        if (metrics != null) metrics.log(text);
    }

    /** A line for train.log only (not the console). */
    void logFileOnly(String line) {
        if (metrics != null) metrics.log(line);
    }

    PrintStream console() {
        return console;
    }

    private static String lossLine(RunSnapshot now, Map<String, Double> values) {
        StringBuilder b = new StringBuilder("step " + now.step() + "/" + now.totalSteps() + " (epoch " + now.epoch() + "):");
        values.forEach((k, v) -> {
            if (k.equals("lr")) b.append(String.format(" lr %.3g", v));
            else if (k.equals("images_per_s")) b.append(String.format(", %.2f images/s", v));
            else b.append(String.format(" %s %.5f", k, v));
        });
        return b.toString();
    }

    private String stamp(String line) {
        return String.format("[%s %s] %s", id, LocalTime.now().format(TIME), line);
    }

    void close() {
        if (metrics != null) metrics.close();
    }
}
