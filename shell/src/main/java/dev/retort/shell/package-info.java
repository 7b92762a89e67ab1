/**
 * The {@code kd:} Gogo commands, as a client of the api's services: runs are started, steered and followed through
 * the {@link dev.retort.api.run.Runner} and {@link dev.retort.api.run.TrainingRun} services; backbones, distillers and
 * datasets are found by their service properties, best ranked first, and released after each command. Nothing here
 * reaches into the runner.
 */
package dev.retort.shell;
