/**
 * The training engine behind the api's {@link dev.retort.api.run.Runner} service ({@code RunnerService}), in the
 * shape of Lightning's loops and connectors and DJL's {@code EasyTrain} with its listeners:
 *
 * <ul>
 *   <li>{@code Trainer}: one run as the api's {@code TrainingRun}; client requests go to {@code RunControl}, what
 *       clients read is one immutable {@code RunSnapshot} swapped atomically.</li>
 *   <li>{@code FitLoop}: builds a run (device, folder, networks, data, optimizer, modules, resume) and runs it;
 *       {@code StepLoop}: the one step loop (batch order, step boundaries, non-finite policy) that training and
 *       module preparations share; {@code OptimizationStep}: one step (tensors, forward, checks, backward, AdamW)
 *       returning a sealed {@code StepOutcome}; {@code DistillObjective}: the training loss.</li>
 *   <li>{@code ModuleReconciler}: the module set as a function of roster, registry and wanted set (no tensors);
 *       {@code ModuleSet}: applies it (builds, closes, prepares, wires); {@code Preparations}: preparation phases
 *       and their cache.</li>
 *   <li>{@code Checkpointing} (with the file format {@code Checkpoints}), {@code Evaluator}, {@code RunEvents}
 *       (log, metrics, listeners), {@code TrainingListener}s: loss history, metrics events, speed, console.</li>
 *   <li>{@code RunSettings}: a run's keys, typed and checked once; {@code InitCheckpoint}: a fresh run from a checkpoint's
 *       weights (the {@code init} key); the locked {@code RunFolder}; PyTorch-exact
 *       {@code AdamW}; {@code FaultPolicy}; {@code EventDispatch} (events to listeners on threads of their own).</li>
 * </ul>
 *
 * Private to the runner bundle: clients use the api.
 */
package dev.retort.runner.train;
