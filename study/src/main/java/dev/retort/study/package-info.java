/**
 * Ablation studies, the demo and the training benchmark, as a client of the api's {@link dev.retort.api.run.Runner}:
 * every arm is a run started through the Runner service and followed to its end through its
 * {@link dev.retort.api.run.TrainingRun#completion()}; its row comes from the run's
 * {@link dev.retort.api.run.RunResult}. Nothing here reaches into the runner. Exported so that programs (and the
 * framework tests) can run studies without the shell.
 */
@Version("1.0.0")
@Export
package dev.retort.study;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
