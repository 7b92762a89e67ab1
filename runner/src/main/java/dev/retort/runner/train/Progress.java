package dev.retort.runner.train;

import java.io.PrintStream;

/** A one-line progress bar (step, loss, images/s, ETA), only when attached to a terminal; the log has the rest. */
final class Progress {
    private final PrintStream out;
    private final long total;
    private final boolean terminal = System.console() != null;
    private long lastPrint;

    Progress(PrintStream out, long total) {
        this.out = out;
        this.total = total;
    }

    void update(long step, double loss, double imagesPerSecond, int batch) {
        if (!terminal) return;
        long now = System.currentTimeMillis();
        if (now - lastPrint < 250 && step < total) return;
        lastPrint = now;
        int width = 30, filled = (int) (width * step / Math.max(1, total));
        long eta = imagesPerSecond > 0 ? (long) ((total - step) * batch / imagesPerSecond) : -1;
        out.printf("\r[%s%s] %d/%d loss %.4f %.1f img/s ETA %s   ", "=".repeat(filled), " ".repeat(width - filled), step, total, loss,
                imagesPerSecond, eta < 0 ? "?" : String.format("%d:%02d", eta / 60, eta % 60));
        out.flush();
    }

    void done() {
        if (terminal) out.println();
    }
}
