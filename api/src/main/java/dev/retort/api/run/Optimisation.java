package dev.retort.api.run;

import dev.retort.api.error.RetortConfigException;

/**
 * Optimisation settings (defaults of the reference: AdamW, lr 6e-5, weight decay 0.01, polynomial decay
 * power 1 stepped per epoch, batch 2).
 *
 * @param learningRate   initial learning rate
 * @param weightDecay    AdamW weight decay
 * @param batchSize      images per step
 * @param epochs         epochs to train (ignored when {@code iterations > 0})
 * @param iterations     steps to train, or 0 to train {@code epochs} epochs
 * @param decaySteps     polynomial decay horizon, in schedule units; 0 keeps the learning rate constant (since 2.2)
 * @param decayPerEpoch  step the schedule once per epoch (reference) instead of once per iteration
 * @param evalEvery      evaluate every this many epochs (or iterations when training by iterations)
 */
public record Optimisation(double learningRate, double weightDecay, int batchSize, int epochs, long iterations,
                           long decaySteps, boolean decayPerEpoch, int evalEvery) {
    public static final Optimisation REFERENCE = new Optimisation(6e-5, 0.01, 2, 1000, 0, 1500, true, 1);

    public Optimisation {
        if (learningRate <= 0) throw new RetortConfigException("learning rate must be > 0, got " + learningRate);
        if (weightDecay < 0) throw new RetortConfigException("weight decay must be >= 0, got " + weightDecay);
        if (batchSize <= 0) throw new RetortConfigException("batch size must be > 0, got " + batchSize);
        if (epochs <= 0 && iterations <= 0) throw new RetortConfigException("either epochs or iterations must be > 0");
        if (decaySteps < 0) throw new RetortConfigException("decay steps must be >= 0 (0 = constant learning rate), got " + decaySteps);
        if (evalEvery <= 0) throw new RetortConfigException("evalEvery must be > 0, got " + evalEvery);
    }
}
