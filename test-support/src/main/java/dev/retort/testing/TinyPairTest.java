package dev.retort.testing;

import dev.retort.api.tap.TapLayout;
import dev.retort.distill.support.RandomTaps;

/**
 * A distiller's test on the tiny MiT-shaped pair of tap layouts: teacher {@code tiny-t} (16-32-48-64 channels) and
 * student {@code tiny-s} (8-16-24-32), 5 classes, with the engine started.
 */
public abstract class TinyPairTest extends EngineTest {
    protected static final TapLayout TEACHER = RandomTaps.mit("tiny-t", 5, 16, 32, 48, 64);
    protected static final TapLayout STUDENT = RandomTaps.mit("tiny-s", 5, 8, 16, 24, 32);
}
