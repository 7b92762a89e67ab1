/**
 * Training runs: what the runner consumes and what it publishes.
 *
 * <p>A {@link dev.retort.api.run.RunConfig} names the teacher and student (backbone variant + weights), the
 * dataset, the distillation modules with their configurations and the optimisation settings. A running
 * {@link dev.retort.api.run.TrainingRun} is registered as a service; it publishes
 * {@link dev.retort.api.run.RunEvent}s (steps with loss terms and throughput, evaluations, module swaps,
 * checkpoints) to every {@link dev.retort.api.run.RunListener} service (whiteboard), so shell commands and
 * future views observe a run without reaching into the runner.
 */
@Version("1.0.1")
@Export
package dev.retort.api.run;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
