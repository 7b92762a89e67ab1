/**
 * The web view ({@code kd:web}): a page on localhost that follows the current run live (state, loss terms per step
 * with module swaps and checkpoints marked, validation mIoU, the modules with enable/disable buttons) and a study
 * folder's arms, plus the JSON endpoints behind it.
 *
 * <p>A client of the api only: runs are followed through {@link dev.retort.api.run.RunListener} events and steered
 * through the {@link dev.retort.api.run.Runner}'s current {@link dev.retort.api.run.TrainingRun}. The servlets are
 * registered with the OSGi HTTP Whiteboard, and nothing listens until {@code kd:web} configures the HTTP server
 * (ConfigAdmin PID {@code org.apache.felix.http}; the launcher starts it disabled).
 */
package dev.retort.web;
