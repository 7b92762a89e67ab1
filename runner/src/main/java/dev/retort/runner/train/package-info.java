/**
 * The training engine behind the api's {@link dev.retort.api.run.Runner} service ({@code RunnerService}): a run's
 * settings from its flat description ({@code RunSettings}), the training loop with module swaps at step boundaries
 * ({@code Trainer}), PyTorch-exact AdamW, atomic checkpoints and exact resume ({@code Checkpoints}), a fresh run from a checkpoint's weights
 * ({@code InitCheckpoint}, the {@code init} key), the locked run
 * folder ({@code RunFolder}), fault policies, and events delivered to listeners on threads of their own
 * ({@code EventDispatch}). Private to the runner bundle: clients use the api.
 */
package dev.retort.runner.train;
