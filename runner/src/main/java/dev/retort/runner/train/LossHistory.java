package dev.retort.runner.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The total loss and the cross-entropy of every step taken, in order (NaN for a skipped step); read from any thread. */
final class LossHistory implements TrainingListener {
    private final List<Double> totals = Collections.synchronizedList(new ArrayList<>());
    private final List<Double> ce = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void stepEnded(long step, double lr, StepOutcome outcome) {
        if (outcome instanceof StepOutcome.Done d) {
            totals.add(d.terms().get("total"));
            ce.add(d.terms().get("ce"));
        } else {
            totals.add(Double.NaN);
            ce.add(Double.NaN);
        }
    }

    List<Double> totals() {
        synchronized (totals) {
            return List.copyOf(totals);
        }
    }

    List<Double> ce() {
        synchronized (ce) {
            return List.copyOf(ce);
        }
    }
}
