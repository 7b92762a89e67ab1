/**
 * Training runs: the engine's contract with everything that drives or watches it.
 *
 * <p>The {@link dev.retort.api.run.Runner} service checks run descriptions ({@link dev.retort.api.run.RunPlan}),
 * starts runs from a {@link dev.retort.api.run.RunRequest} and evaluates checkpoints. A
 * {@link dev.retort.api.run.RunConfig} names the teacher and student (backbone variant + weights), the dataset, the
 * distillation modules with their configurations and the optimisation settings. A running
 * {@link dev.retort.api.run.TrainingRun} is registered as a service; its {@link dev.retort.api.run.RunState},
 * {@link dev.retort.api.run.RunStatus} and {@link dev.retort.api.run.RunResult} say where it stands and what it
 * produced, and it publishes {@link dev.retort.api.run.RunEvent}s (steps with loss terms and throughput,
 * evaluations, module swaps, checkpoints) to every {@link dev.retort.api.run.RunListener} service (whiteboard) and to
 * the request's own listener, each on a thread of its own: shell commands, studies and views follow a run without
 * polling, re-reading files or reaching into the runner.
 *
 * <p>2.0.0: the {@code Runner} service, run states as an enum, {@code RunResult}, {@code TrainingRun.result()},
 * {@code completion()}, {@code enable}/{@code disable}; asynchronous listeners.
 *
 * <p>2.1.0: a module's preparation phase is visible: {@code RunEvent.Type.PREPARING} and {@code PREPARED}, and
 * {@code RunStatus.preparing()} (a record component with the 2.0 constructor kept). Consumers that switch over
 * {@code RunEvent.Type} meet two new constants.
 *
 * <p>2.2.0: {@link dev.retort.api.run.CheckpointKeys}, how a checkpoint and an {@code init} file name their tensors;
 * {@code Optimisation.decaySteps()} 0 means a constant learning rate ({@code decay_per = none}).
 *
 * <p>2.3.0: {@code EvaluationRequest.run()}, the network and data a published weights file is evaluated as (a record
 * component with the 2.2 constructor kept).
 *
 * <p>2.4.0: {@code RunResult.stepTransfers()}, the host transfers per timed step as counted (a record component with
 * the 2.3 constructor kept).
 *
 * <p>2.5.0: {@code RunResult.stepArrayBytes()}, the bytes a timed step's arrays held at its high-water mark, and
 * {@code RunResult.teacherTaps()}, the teacher's taps its timed steps computed (record components with the 2.3 and 2.4
 * constructors kept).
 */
@Version("2.5.0")
@Export
package dev.retort.api.run;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
