/**
 * Ablation studies, the demo and the training benchmark, as a client of the api's {@link dev.retort.api.run.Runner}:
 * every cell of a study (an arm with a seed) is a run started through the Runner service and followed to its end
 * through its {@link dev.retort.api.run.TrainingRun#completion()}; its row comes from the run's
 * {@link dev.retort.api.run.RunResult}. {@link dev.retort.study.StudyResults} and {@link dev.retort.study.SeedStatistics}
 * turn rows into tables, paired gains and plots for kd:ablate and the demo alike; {@code SlurmStudy} and
 * {@code StudyStatus} submit a study to SLURM and report on its cells. Nothing here reaches into the runner. Exported
 * so that programs (and the framework tests) can run studies without the shell.
 */
@Version("2.0.0")
@Export
package dev.retort.study;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
