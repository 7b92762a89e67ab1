package dev.retort.runner.train;

import dev.retort.api.data.SampleSource;
import dev.retort.api.run.RunEvent;
import java.util.LinkedHashMap;
import java.util.Map;

/** A {@code STEP} event (loss terms, learning rate, throughput) every {@code log_every} steps and at the last step. */
final class MetricsListener implements TrainingListener {
    private final int every;
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private final SampleSource train;

    MetricsListener(int every, RunSnapshot.Board board, RunEvents events, SampleSource train) {
        this.every = Math.max(1, every);
        this.board = board;
        this.events = events;
        this.train = train;
    }

    @Override
    public void stepEnded(long step, double lr, StepOutcome outcome) {
        if (!(outcome instanceof StepOutcome.Done d)) return;
        RunSnapshot now = board.get();
        if (step % every != 0 && step + 1 != now.totalSteps()) return;
        Map<String, Double> m = new LinkedHashMap<>(d.terms());
        m.put("lr", lr);
        m.put("images_per_s", now.speed().imagesPerSecond());
        if (train.skipped() > 0) m.put("skipped_train", (double) train.skipped());
        events.event(RunEvent.Type.STEP, m, "");
    }
}
