/**
 * {@code retort.jar}: starts DJL's engine on the class path, then Felix with SCR, ConfigAdmin, MetaType, Gogo and
 * FileInstall ({@code bundles/}, {@code conf/}) and Retort's embedded bundles; runs one command (exit status = its
 * outcome) or the interactive shell; turns signals into an orderly stop; reports unknown configuration PIDs.
 */
package dev.retort.launcher;
