/**
 * What the unit tests of Retort's bundles share (a test-scoped dependency, never part of the runtime):
 * {@link dev.retort.testing.RetortAssertions} (a gradient that can train) and
 * {@link dev.retort.testing.FixtureComparison} (a parity test's tensors against a golden fixture, through the one
 * {@code dev.retort.nn.Tolerance}); the test bases {@link dev.retort.testing.EngineTest} (the PyTorch engine started
 * once) and {@link dev.retort.testing.TinyPairTest} (the tiny MiT-shaped teacher and student tap layouts).
 */
package dev.retort.testing;
