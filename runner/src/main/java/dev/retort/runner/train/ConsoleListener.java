package dev.retort.runner.train;

import dev.retort.api.data.SampleSource;
import dev.retort.datasets.Batch;

/**
 * The console side of the loop: the progress bar or line ({@link Progress}) and a line whenever samples failed to
 * load since the last report ({@code data.on_error = skip}; loader threads load ahead, so counts arrive late).
 */
final class ConsoleListener implements TrainingListener {
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private final SampleSource train;
    private final Progress progress;
    private final int batchSize;
    private long skippedReported;

    ConsoleListener(RunSnapshot.Board board, RunEvents events, SampleSource train, long skippedBefore, long totalSteps, int batchSize) {
        this.board = board;
        this.events = events;
        this.train = train;
        this.progress = new Progress(events.console(), totalSteps);
        this.batchSize = batchSize;
        this.skippedReported = skippedBefore;
    }

    @Override
    public void stepCounted(long done, Batch batch, long nanos) {
        long skippedNow = train.skipped();
        if (skippedNow > skippedReported) {
            events.log("step " + done + ": " + (skippedNow - skippedReported) + " sample(s) failed to load and were skipped (data.on_error = skip); "
                    + skippedNow + " so far");
            skippedReported = skippedNow;
        }
        RunSnapshot now = board.get();
        progress.update(done, now.last().losses().getOrDefault("total", Double.NaN), now.speed().imagesPerSecond(), batchSize);
    }

    @Override
    public void loopEnded() {
        progress.done();
    }
}
