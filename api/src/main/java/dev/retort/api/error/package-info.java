/**
 * Failures as users see them: {@link dev.retort.api.error.RetortConfigException}, the one type of a user error (a
 * setting, argument, file or state to correct), and {@link dev.retort.api.error.Failures#describe}, the one way every
 * entry point (shell commands, the launcher, a run's log and events) prints a failure: a user error by its message,
 * anything else with its type, never with a stack trace.
 */
@Version("1.0.0")
@Export
package dev.retort.api.error;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
