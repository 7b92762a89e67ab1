package dev.retort.runner.train;

import java.io.PrintStream;

/**
 * Progress on the console: on a terminal a one-line bar (step, loss, images/s, ETA) redrawn in place; without one
 * (a batch job's log) a plain line every {@code retort.progress} seconds (default 60). The log has the rest.
 */
final class Progress {
    private final PrintStream out;
    private final long total;
    private final boolean terminal = System.console() != null;
    private final long intervalMillis = terminal ? 250 : Math.max(0, Long.getLong("retort.progress", 60)) * 1000;
    private long lastPrint;
    private long lastStep = -1;

    Progress(PrintStream out, long total) {
        this.out = out;
        this.total = total;
        this.lastPrint = terminal ? 0 : System.currentTimeMillis();
    }

    void update(long step, double loss, double imagesPerSecond, int batch) {
        long now = System.currentTimeMillis();
        if (now - lastPrint < intervalMillis && step < total) return;
        lastPrint = now;
        lastStep = step;
        long eta = imagesPerSecond > 0 ? (long) ((total - step) * batch / imagesPerSecond) : -1;
        String etaText = eta < 0 ? "?" : String.format("%d:%02d:%02d", eta / 3600, eta / 60 % 60, eta % 60);
        if (terminal) {
            int width = 30, filled = (int) (width * step / Math.max(1, total));
            out.printf("\r[%s%s] %d/%d loss %.4f %.1f img/s ETA %s   ", "=".repeat(filled), " ".repeat(width - filled), step, total, loss,
                    imagesPerSecond, etaText);
        } else {
            out.printf("progress: step %d/%d (%.0f%%), loss %.4f, %.2f images/s, ETA %s%n", step, total, 100.0 * step / Math.max(1, total), loss,
                    imagesPerSecond, etaText);
        }
        out.flush();
    }

    void done() {
        if (terminal && lastStep >= 0) out.println();
    }
}
