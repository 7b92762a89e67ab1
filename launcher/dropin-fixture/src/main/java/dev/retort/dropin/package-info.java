/** A distiller bundle that retort.jar does not embed: the launcher's jar tests drop it into {@code bundles/}. */
package dev.retort.dropin;
