/**
 * Failures as users see them: {@link dev.retort.api.error.RetortConfigException}, the one type of a user error (a
 * setting, argument, file or state to correct), and {@link dev.retort.api.error.Failures#describe}, the one way every
 * entry point (shell commands, the launcher, a run's log and events) prints a failure: by its messages, never with an
 * exception's type or a stack trace unless {@code -Dretort.debug=true}.
 */
@Version("1.1.0")
@Export
package dev.retort.api.error;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
