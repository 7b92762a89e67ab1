/**
 * {@code kd:parity}, as a client of the api: backbones are checked against {@code <variant>.weights/io.safetensors}
 * pairs through the Backbone service that builds the variant; distillers through the
 * {@link dev.retort.api.parity.ParityCase}s and {@link dev.retort.api.parity.ParityComputation}s their bundles register,
 * so the checker knows no module by name. Losses are composed by distill-support's {@code Objective}, as in training.
 * A training trajectory of the reference is replayed through the {@link dev.retort.api.run.Runner} service itself
 * ({@code TrajectoryParity}): the run kd:train would run, compared step by step and tensor by tensor.
 */
package dev.retort.parity;
